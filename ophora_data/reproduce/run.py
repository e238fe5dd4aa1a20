"""Run a reproduction: import the manifest, then ingest -> download -> probe -> reproduce.

`ingest` is the normal stage fed from the manifest (the manifest's video ids), `download` and
`probe` are the normal stages, `reproduce` re-makes and verifies each clip. Every stage keeps the
stage contract (rows with status and reason, resume per item, progress bars), so a rerun of the
same command resumes, and `--retry-failed` retries sources that failed permanently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.executors.result import StageResult
from ophora_data.reproduce.locate import import_manifest, locate, saved_records
from ophora_data.reproduce.sources import locations, read_sources
from ophora_data.run.workdir import RunDir
from ophora_data.stages.download import DownloadStage
from ophora_data.stages.probe import ProbeStage
from ophora_data.stages.reproduce import ReproduceStage
from ophora_data.stages.reproduce_ingest import ManifestIngestStage

OnResult = Callable[[StageResult], None]


def reproduce_stages(run: RunDir, config: Config, sources: Path | None, workers: int) -> list[Any]:
    """The reproduce stage list, in order (the pipeline's `ingest`, `download`, `probe`, then `reproduce`)."""
    records = saved_records(run)
    overrides = read_sources(sources) if sources else {}
    return [ManifestIngestStage(config, run, locations(records, overrides)), DownloadStage(config, run),
            ProbeStage(config, run), ReproduceStage(config, run, workers=workers, records=records)]


def run_reproduce(run: RunDir, config: Config, release: str, sources: Path | None, options: RunOptions,
                  on_result: OnResult | None = None, echo: Callable[[str], None] | None = None,
                  ) -> tuple[dict[str, Any], list[StageResult]]:
    """Import the manifest of `release` into `run` and run the stages; returns (origin, results).

    Raises ManifestUnreadable, OtherManifest or SourcesUnreadable before any work.
    """
    say = echo or (lambda _message: None)
    origin = import_manifest(locate(release, run), run)
    say(f"reproduce: {origin['records']} clips from {origin['release']} ({origin['kind']})")
    results = []
    for stage in reproduce_stages(run, config, sources, options.workers):
        # ingest is rebuilt from the manifest and --sources every time: a new location takes effect.
        stage_options = replace(options, overwrite=True, limit=None) if stage.name == "ingest" else options
        result = run_stage(stage, stage_options)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return origin, results
