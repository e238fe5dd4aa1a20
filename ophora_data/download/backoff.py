"""Exponential backoff with jitter for transient failures, honouring Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from ophora_data.download.errors import DownloadFailure, Failure, LimitExceeded, classify

T = TypeVar("T")
OnRetry = Callable[[int, Failure, float], None]


@dataclass(frozen=True)
class BackoffPolicy:
    retries: int
    base_s: float
    max_s: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Wait before retry number `attempt` (0-based): base * 2^attempt, capped, with equal jitter.

        Half of the delay is fixed and half random, so workers that failed together
        (one 429 burst) do not all come back at the same instant.
        """
        ceiling = min(self.max_s, self.base_s * 2**attempt)
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def call_with_retries(
    fn: Callable[[], T],
    policy: BackoffPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_retry: OnRetry | None = None,
) -> T:
    """Call fn; retry transient failures up to policy.retries times; raise DownloadFailure otherwise.

    LimitExceeded passes through untouched: it is a decision about the video, not an error.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except LimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - every error is classified, nothing is swallowed
            failure = classify(exc)
            if failure.kind != "transient":
                raise DownloadFailure(failure) from exc
            if attempt >= policy.retries:
                gave_up = f"{failure.reason}; gave up after {attempt + 1} attempts"
                raise DownloadFailure(replace(failure, reason=gave_up)) from exc
            wait = policy.delay(attempt, rng)
            if failure.retry_after_s is not None:
                if failure.retry_after_s > policy.max_s:
                    # Blocking a worker for an hour helps nobody: record it, retry on the next run.
                    too_long = f"{failure.reason}; Retry-After {failure.retry_after_s:.0f}s exceeds backoff_max_s"
                    raise DownloadFailure(replace(failure, reason=too_long)) from exc
                wait = max(wait, failure.retry_after_s)
            if on_retry is not None:
                on_retry(attempt + 1, failure, wait)
            sleep(wait)
            attempt += 1
