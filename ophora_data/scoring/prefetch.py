"""A bounded, ordered prefetch queue: CPU workers decode the next clips while the model encodes.

At most `depth` items are in flight, so memory stays bounded however long the list is;
results come back in input order, each either the loaded value or the exception it raised
(one bad clip never stops the others).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetch(
    items: Iterable[T], load: Callable[[T], R], workers: int = 2, depth: int = 4
) -> Iterator[tuple[T, R | Exception]]:
    """Yield `(item, load(item) or its exception)` in order, with up to `depth` loads running ahead.

    Threads, not processes: decoding (ffmpeg/torchcodec) and image resizing release the GIL,
    and decoded frames need no pickling back to the main process.
    """
    depth = max(1, depth)
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="score-decode") as pool:
        queue: deque[tuple[T, Future[R]]] = deque()

        def submit_next() -> bool:
            for item in iterator:
                queue.append((item, pool.submit(load, item)))
                return True
            return False

        while len(queue) < depth and submit_next():
            pass
        try:
            while queue:
                item, future = queue.popleft()
                submit_next()
                try:
                    result: R | Exception = future.result()
                except Exception as exc:  # noqa: BLE001 - handed to the caller as this item's result
                    result = exc
                yield item, result
        finally:
            # The consumer stopped early (or failed): do not decode what nobody will read.
            for _, future in queue:
                future.cancel()
