from __future__ import annotations

import threading
import time

import pytest

from ophora_data.scoring.prefetch import prefetch


def test_results_in_order_with_errors_per_item() -> None:
    def load(n: int) -> int:
        if n == 2:
            raise ValueError("bad clip")
        time.sleep(0.01 * (5 - n))  # later items finish first: order must still hold
        return n * 10

    got = list(prefetch(range(5), load, workers=3, depth=3))
    assert [item for item, _ in got] == [0, 1, 2, 3, 4]
    assert [r for _, r in got if not isinstance(r, Exception)] == [0, 10, 30, 40]
    assert isinstance(got[2][1], ValueError)


@pytest.mark.parametrize("depth", [1, 3])
def test_queue_is_bounded(depth: int) -> None:
    lock, state = threading.Lock(), {"started": 0}

    def load(n: int) -> int:
        with lock:
            state["started"] += 1
        return n

    consumed = 0
    for _item, _ in prefetch(range(20), load, workers=4, depth=depth):
        consumed += 1
        time.sleep(0.002)
        with lock:
            # Never more than `depth` loads submitted beyond what the consumer has taken.
            assert state["started"] <= consumed + depth
    assert consumed == 20


def test_decoding_overlaps_the_consumer() -> None:
    def load(n: int) -> int:
        time.sleep(0.05)
        return n

    start = time.perf_counter()
    for _ in prefetch(range(8), load, workers=2, depth=4):
        time.sleep(0.05)  # the "model": decode of the next clips runs meanwhile
    elapsed = time.perf_counter() - start
    assert elapsed < 8 * 0.1 * 0.8  # serial would be 0.8 s


def test_stopping_early_cancels_pending_work() -> None:
    started: list[int] = []

    def load(n: int) -> int:
        started.append(n)
        time.sleep(0.02)
        return n

    for item, _ in prefetch(range(100), load, workers=1, depth=2):
        if item == 1:
            break
    time.sleep(0.1)
    assert len(started) <= 4
