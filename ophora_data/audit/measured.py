"""The current rows of each stage *as measured*, even after thresholds changed.

A stage's config hash covers its whole config section, thresholds (`Bound` fields)
included, so `--set score.clip_text_similarity.min=0.27` gives `score` a new hash and
its stored rows stop being "current". Thresholds never change a measured value, though:
decide/refilter/audit must keep reading those rows. `MeasuredTables` first looks for rows
under the config's own hash (what `Stage.upstream_rows` does); when there are none, it
re-bases the stage's Bound fields on the bounds recorded in its check rows (`threshold`,
`threshold_max`, `op`) and accepts a row group whose hash then matches. Stages are
resolved in pipeline order so a re-based upstream hash flows into its downstream stages.
"""

from __future__ import annotations

from typing import Any

from ophora_data.config import Bound, Config
from ophora_data.run.tables import PART_COLUMN, group_by
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import PIPELINE, get_stage, stage_config_hash, stage_names

Row = dict[str, Any]


def recorded_bounds(rows: list[Row], section: Any) -> dict[str, Bound]:
    """The Bound each check was evaluated with when its row was written."""
    bounds: dict[str, Bound] = {}
    for row in rows:
        check = row.get("check")
        if not check or check in bounds or not isinstance(getattr(section, check, None), Bound):
            continue
        op, low, high = row.get("op"), row.get("threshold"), row.get("threshold_max")
        try:
            if op == ">=":
                bounds[check] = Bound(min=low)
            elif op == "<=":
                bounds[check] = Bound(max=low)
            elif op == "between":
                bounds[check] = Bound(min=low, max=high)
        except ValueError:  # a malformed row cannot tell us its bound; leave the current one
            continue
    return bounds


def with_bounds(config: Config, section_name: str, bounds: dict[str, Bound]) -> Config:
    if not bounds:
        return config
    section = getattr(config, section_name).model_copy(update=bounds)
    return config.model_copy(update={section_name: section})


class MeasuredTables:
    """Current rows per stage for one config, tolerant of threshold-only changes."""

    def __init__(self, run: RunDir, config: Config) -> None:
        self.run = run
        self.config = config
        # The config whose hashes match the stored rows (thresholds re-based as needed).
        self.measured_config = config
        self.hashes: dict[str, str] = {}
        self._rows: dict[str, list[Row] | None] = {}

    def rows(self, stage: str) -> list[Row] | None:
        """Current rows of `stage`; None when the stage has no table or no module here."""
        if stage not in self._rows:
            self._resolve_until(stage)
        return self._rows.get(stage)

    def _resolve_until(self, target: str) -> None:
        known = set(stage_names())
        for name, _ in PIPELINE:
            if name not in self._rows:
                self._rows[name] = self._resolve(name) if name in known else None
            if name == target:
                return
        self._rows[target] = None

    def _resolve(self, stage: str) -> list[Row] | None:
        cls = get_stage(stage)
        table = self.run.table(stage)
        if not table.parts():
            return None
        wanted = stage_config_hash(cls, self.measured_config)
        all_rows = table.all_rows()
        by_hash = group_by(all_rows, "config_hash")
        if wanted not in by_hash and stage in cls.config_sections:
            # Newest row group first: the latest measurement wins when several match.
            for config_hash, rows in sorted(by_hash.items(), key=lambda kv: _newest(kv[1]), reverse=True):
                section = getattr(self.measured_config, stage)
                candidate = with_bounds(self.measured_config, stage, recorded_bounds(rows, section))
                if stage_config_hash(cls, candidate) == config_hash:
                    self.measured_config, wanted = candidate, config_hash
                    break
        self.hashes[stage] = wanted
        return _current(by_hash.get(wanted, []), cls.key)


def _newest(rows: list[Row]) -> str:
    # Part names start with zero-padded nanoseconds, so the name orders them in time.
    return max(r[PART_COLUMN] for r in rows)


def _current(rows: list[Row], key: str) -> list[Row]:
    newest: dict[Any, str] = {}
    for row in rows:
        newest[row.get(key)] = max(newest.get(row.get(key), ""), row[PART_COLUMN])
    return [r for r in rows if r[PART_COLUMN] == newest[r.get(key)]]
