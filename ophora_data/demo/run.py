"""`ophora-data demo`: the offline pipeline end to end on a generated sample."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

from ophora_data.commands.common import print_result, print_status
from ophora_data.config import Config
from ophora_data.demo.sample import make_demo_sample
from ophora_data.executors.local import RunOptions
from ophora_data.paths import CONFIGS_DIR
from ophora_data.pipeline import run_pipeline
from ophora_data.run.status import run_status
from ophora_data.run.workdir import RunDir

Echo = Callable[[str], None]


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def write_demo_report(run: RunDir, config: Config, echo: Echo) -> None:
    if not _available("ophora_data.audit.report"):
        return
    from ophora_data.audit.report import write_report

    echo(f"audit report: {write_report(run, config)}")


def build_demo_release(run: RunDir, config: Config, echo: Echo) -> None:
    if not _available("builders.release"):
        return
    from builders.release import build_release

    result = build_release(run, config)
    echo(f"release built and verified: {result.out_dir}")
    echo(f"load it with: {result.load_snippet}")


def run_demo(workdir: Path, sets: list[str], workers: int | None, fresh: bool, echo: Echo) -> RunDir:
    run = RunDir(workdir)
    if fresh and run.root.exists():
        shutil.rmtree(run.root)
    echo(f"demo: run directory {run.root}")
    config = run.resolve_config(CONFIGS_DIR / "demo.yaml", sets)  # a bad --set fails before any work
    sample = make_demo_sample(run.root / "sample")
    echo(f"demo: sample video {sample.video.name} with transcript sidecar {sample.transcript.name}")
    run.create()
    run.save_config(config)
    options = RunOptions(workers=workers or config.run.workers)
    run_pipeline(run, config, [str(sample.video)], options=options, on_result=print_result)
    write_demo_report(run, config, echo)
    build_demo_release(run, config, echo)
    print_status(run_status(run, config))
    return run
