"""One byte-progress bar shared by the download threads, plus a videos counter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

Hook = Callable[[dict[str, Any]], None]


class ByteProgress:
    def __init__(self, desc: str = "download bytes", enabled: bool = True) -> None:
        self._lock = threading.Lock()
        self.cancelled = threading.Event()
        self.desc, self.enabled = desc, enabled
        self._bar: tqdm | None = None
        self.bytes = 0
        self.videos = 0

    @property
    def bar(self) -> tqdm:
        """Created on first use: a run of local links only shows no byte bar at all."""
        if self._bar is None:
            self._bar = tqdm(desc=self.desc, unit="B", unit_scale=True, unit_divisor=1024,
                             disable=not self.enabled, leave=False)  # fmt: skip
        return self._bar

    def hook(self) -> Hook:
        """A yt-dlp progress hook for one download: turns cumulative counts into bar updates."""
        seen: dict[str, int] = {}

        def on_progress(event: dict[str, Any]) -> None:
            if self.cancelled.is_set():
                # Raised inside yt-dlp's read loop: Ctrl-C stops every thread at its next block
                # instead of waiting for whole downloads; the `.part` stays for the next run.
                raise KeyboardInterrupt("download cancelled")
            name = str(event.get("filename") or "")
            done = int(event.get("downloaded_bytes") or 0)
            delta = max(0, done - seen.get(name, 0))
            seen[name] = max(done, seen.get(name, 0))
            if delta:
                self.add_bytes(delta)

        return on_progress

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes += count
            self.bar.update(count)

    def video_done(self) -> None:
        with self._lock:
            self.videos += 1
            if self._bar is not None:
                self._bar.set_postfix(videos=self.videos, refresh=False)

    def cancel(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
