from __future__ import annotations

import random

import pytest

from ophora_data.download.backoff import BackoffPolicy, call_with_retries
from ophora_data.download.errors import DownloadFailure, Failure, LimitExceeded


def failing(*failures: Failure, result: str = "done"):
    """A callable that raises the given failures in order, then returns `result`."""
    queue = list(failures)
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if queue:
            raise DownloadFailure(queue.pop(0))
        return result

    return call, calls


TRANSIENT = Failure("transient", "server error (HTTP 503)", 503)


def test_delay_grows_exponentially_with_bounded_jitter() -> None:
    policy = BackoffPolicy(retries=5, base_s=1.0, max_s=10.0)
    rng = random.Random(0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jitter really spreads the retries


def test_transient_failures_are_retried_then_succeed() -> None:
    call, calls = failing(TRANSIENT, TRANSIENT)
    waits: list[float] = []
    seen: list[int] = []
    policy = BackoffPolicy(retries=3, base_s=0.5, max_s=30)
    result = call_with_retries(call, policy, sleep=waits.append, on_retry=lambda n, f, w: seen.append(n))
    assert result == "done" and len(calls) == 3 and seen == [1, 2]
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0


def test_retry_after_is_honoured() -> None:
    call, _ = failing(Failure("transient", "rate limited (HTTP 429)", 429, retry_after_s=9.0))
    waits: list[float] = []
    call_with_retries(call, BackoffPolicy(3, 0.01, 30), sleep=waits.append)
    assert waits == [9.0]


def test_retry_after_beyond_the_cap_gives_up_at_once() -> None:
    call, calls = failing(Failure("transient", "rate limited (HTTP 429)", 429, retry_after_s=3600))
    waits: list[float] = []
    with pytest.raises(DownloadFailure, match="Retry-After 3600s exceeds backoff_max_s") as info:
        call_with_retries(call, BackoffPolicy(3, 0.01, 60), sleep=waits.append)
    assert info.value.failure.retryable and waits == [] and len(calls) == 1


def test_exhausted_retries_stay_retryable() -> None:
    call, calls = failing(*[TRANSIENT] * 10)
    with pytest.raises(DownloadFailure, match="gave up after 3 attempts") as info:
        call_with_retries(call, BackoffPolicy(2, 0.0, 1), sleep=lambda s: None)
    assert info.value.failure.kind == "transient" and len(calls) == 3


@pytest.mark.parametrize("kind", ["permanent", "unknown"])
def test_non_transient_failures_are_not_retried(kind: str) -> None:
    call, calls = failing(Failure(kind, "private video"))  # type: ignore[arg-type]
    with pytest.raises(DownloadFailure):
        call_with_retries(call, BackoffPolicy(5, 0.0, 1), sleep=lambda s: None)
    assert len(calls) == 1


def test_limits_pass_through_untouched() -> None:
    def call() -> None:
        raise LimitExceeded("longer than max_duration_s")

    with pytest.raises(LimitExceeded):
        call_with_retries(call, BackoffPolicy(5, 0.0, 1), sleep=lambda s: None)
