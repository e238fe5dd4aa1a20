"""The current rows of each stage for one config, read once for decide/refilter/audit.

Thresholds (`Bound` fields) are not part of stage hashes (see `stages/registry.py`), so a
threshold-only change keeps every measured row current: decisions re-judge stored values.
"""

from __future__ import annotations

from typing import Any

from ophora_data.config import Config
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import get_stage, stage_config_hash, stage_names

Row = dict[str, Any]


class MeasuredTables:
    def __init__(self, run: RunDir, config: Config) -> None:
        self.run = run
        self.config = config
        self.hashes: dict[str, str] = {}
        self._rows: dict[str, list[Row] | None] = {}

    def rows(self, stage: str) -> list[Row] | None:
        """Current rows of `stage`; None when the stage has no table or no module here."""
        if stage not in self._rows:
            self._rows[stage] = self._load(stage)
        return self._rows[stage]

    def _load(self, stage: str) -> list[Row] | None:
        if stage not in stage_names() or not self.run.table(stage).parts():
            return None
        cls = get_stage(stage)
        self.hashes[stage] = stage_config_hash(cls, self.config)
        return self.run.table(stage).current(cls.work_key(), self.hashes[stage])
