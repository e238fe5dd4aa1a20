"""One ordered registry of stages: `run`, `demo` and `status` grow with it.

Entries are import paths so that heavy stage modules load only when used.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from typing import TYPE_CHECKING

from ophora_data.config import Bound, Config, Section, stable_hash

if TYPE_CHECKING:
    from ophora_data.stages.base import Stage

PIPELINE: tuple[tuple[str, str], ...] = (
    ("ingest", "ophora_data.stages.ingest:IngestStage"),
    ("download", "ophora_data.stages.download:DownloadStage"),
    ("probe", "ophora_data.stages.probe:ProbeStage"),
    ("transcribe", "ophora_data.stages.transcribe:TranscribeStage"),
    ("segment", "ophora_data.stages.segment:SegmentStage"),
    ("caption", "ophora_data.stages.caption:CaptionStage"),
    ("cut", "ophora_data.stages.cut:CutStage"),
    ("quality", "ophora_data.stages.quality:QualityStage"),
    ("score", "ophora_data.stages.score:ScoreStage"),
    ("privacy", "ophora_data.stages.privacy:PrivacyStage"),
    ("decide", "ophora_data.stages.decide:DecideStage"),
)


# Stages outside the normal pipeline, run by their own command (`reproduce`): known by name, so the
# executors can rebuild them in worker processes and `status` reports them once they have a table;
# `run` never runs them.
EXTRA_STAGES: tuple[tuple[str, str], ...] = (
    ("reproduce", "ophora_data.stages.reproduce:ReproduceStage"),
)


def _module_exists(path: str) -> bool:
    return importlib.util.find_spec(path.split(":")[0]) is not None


def stage_names() -> list[str]:
    """Pipeline stages whose module is present, in pipeline order."""
    return [name for name, path in PIPELINE if _module_exists(path)]


def extra_stage_names() -> list[str]:
    """Stages outside the pipeline (`EXTRA_STAGES`) whose module is present."""
    return [name for name, path in EXTRA_STAGES if _module_exists(path)]


@cache
def get_stage(name: str) -> type[Stage]:
    paths = dict(PIPELINE + EXTRA_STAGES)
    if name not in paths:
        raise KeyError(f"unknown stage {name!r}; stages: {', '.join(paths)}")
    module_name, _, class_name = paths[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def _hashed_section(stage: type[Stage], section: Section) -> dict:
    """A section's values minus what cannot change the output: the keys its class lists in
    HASH_EXCLUDE (politeness, timeouts) and its Bounds. Check rows store values, so a new
    threshold is a re-decision (`refilter`), not a reason to measure again; stages whose rows
    depend on their bounds beyond stored values (e.g. `decide`) set `hash_bounds`."""
    data = section.model_dump(mode="json", exclude=set(getattr(type(section), "HASH_EXCLUDE", ())))
    if stage.hash_bounds:
        return data
    return {key: value for key, value in data.items() if not isinstance(getattr(section, key), Bound)}


def stage_config_hash(stage: type[Stage], config: Config) -> str:
    """Hash of what determines a stage's output: its sections, version and upstream hashes.

    Chaining the upstream hashes means a change to `segment` re-runs `cut` and later stages.
    """
    sections = {name: _hashed_section(stage, getattr(config, name)) for name in stage.config_sections}
    upstream = [stage_config_hash(get_stage(need), config) for need in stage.needs if need in stage_names()]
    payload = {"stage": stage.name, "version": stage.version, "sections": sections, "up": upstream}
    if inputs := stage.hash_inputs(config):
        payload["inputs"] = inputs
    return stable_hash(payload)
