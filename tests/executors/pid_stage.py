"""A test-only stage whose rows say which process ran them: pid, parent pid, Ray worker mode.

Executors build their stages in the worker by name (`registry.get_stage`), so the stage must be
registered in every process that runs it: the driver patches the registry (`registered`), forked
pool workers inherit that, and Ray workers call `register` through Ray's
`worker_process_setup_hook` (the test's cluster fixture sets it).

The rendezvous makes "several workers took part" deterministic instead of a race: each process,
on its first item, leaves a file and waits until `expected` processes have done so (or a timeout,
after which it goes on, so a serial run still finishes and the test's pid assertion fails clearly).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from ophora_data.stages.base import Row, Stage

NAME = "pid_probe"
ENTRY = (NAME, "tests.executors.pid_stage:PidStage")
ITEMS = 6
RENDEZVOUS_TIMEOUT_S = 15.0


def register() -> None:
    """Add PidStage to this process's registry (idempotent); Ray runs it in each worker."""
    from ophora_data.stages import registry

    if ENTRY not in registry.PIPELINE:
        registry.PIPELINE = (*registry.PIPELINE, ENTRY)
        registry.get_stage.cache_clear()


@contextmanager
def registered() -> Iterator[None]:
    """PidStage registered in the driver for the duration (restored after, cache cleared both ways)."""
    from ophora_data.stages import registry

    before = registry.PIPELINE
    register()
    try:
        yield
    finally:
        registry.PIPELINE = before
        registry.get_stage.cache_clear()


def ray_worker_mode() -> bool | None:
    """True inside a Ray worker process, False in a driver (or a process forked from one), None without Ray.

    Reads Ray's process-global worker mode; calls no Ray API, which would be unsafe in a forked child.
    """
    worker = sys.modules.get("ray._private.worker")
    if worker is None:
        return None
    return worker.global_worker.mode == worker.WORKER_MODE


class PidStage(Stage):
    """ITEMS items, one per batch; each row records the process that processed it."""

    name: ClassVar[str] = NAME
    parallel: ClassVar[bool] = True
    batch_size: ClassVar[int] = 1

    def items(self) -> list[Row]:
        return [{"video_id": f"p{i}"} for i in range(ITEMS)]

    def process(self, item: Row) -> list[Row]:
        self._rendezvous()
        return [
            {
                "status": "ok",
                "reason": "",
                "value": int(item["video_id"][1:]),
                "pid": os.getpid(),
                "ppid": os.getppid(),
                "ray_worker": ray_worker_mode(),
            }
        ]

    def _rendezvous(self) -> None:
        spec = self.run.root / "rendezvous"
        if not spec.is_file():
            return
        expected = int(spec.read_text())
        mine = self.run.root / f"arrived-{os.getpid()}"
        if mine.exists():
            return
        mine.touch()
        deadline = time.monotonic() + RENDEZVOUS_TIMEOUT_S
        while len(list(Path(self.run.root).glob("arrived-*"))) < expected and time.monotonic() < deadline:
            time.sleep(0.02)
