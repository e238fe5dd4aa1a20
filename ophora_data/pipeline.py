"""Run registered stages in order over one run directory; a rerun resumes."""

from __future__ import annotations

from collections.abc import Callable

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.executors.result import StageResult
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Stage
from ophora_data.stages.registry import get_stage, stage_names


def build_stage(name: str, config: Config, run: RunDir, sources: list[str] | None = None) -> Stage:
    cls = get_stage(name)
    if name == "ingest":
        return cls(config, run, sources=sources)  # type: ignore[call-arg]
    return cls(config, run)


def stages_until(until: str | None) -> list[str]:
    names = stage_names()
    if until is None:
        return names
    if until not in names:
        raise ValueError(f"--until {until!r}: not a stage; stages are {', '.join(names)}")
    return names[: names.index(until) + 1]


def run_pipeline(
    run: RunDir,
    config: Config,
    sources: list[str],
    until: str | None = None,
    options: RunOptions = RunOptions(),
    on_result: Callable[[StageResult], None] | None = None,
) -> list[StageResult]:
    results = []
    for name in stages_until(until):
        result = run_stage(build_stage(name, config, run, sources), options)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
