"""Read the current rows of a stage (under its current config hash) for the release.

Stages are resolved through the registry module at call time (not imported names), so a
missing stage module reads as "no table" and tests can register stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ophora_data.config import Config
from ophora_data.run.tables import group_by
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry

Row = dict[str, Any]


class MissingStage(LookupError):
    """A stage the release cannot do without has no module or no current rows."""


def stage_available(name: str) -> bool:
    return name in registry.stage_names()


def current_rows(run: RunDir, config: Config, name: str) -> list[Row] | None:
    """Rows of `name` under its current config hash; None when its module is absent."""
    if not stage_available(name):
        return None
    stage = registry.get_stage(name)
    return run.table(name).current(stage.key, registry.stage_config_hash(stage, config))


def required_rows(run: RunDir, config: Config, name: str) -> list[Row]:
    rows = current_rows(run, config, name)
    if rows is None:
        raise MissingStage(f"stage {name!r} is not installed: its table is needed to build a release")
    if not rows:
        raise MissingStage(f"no current {name!r} rows in {run.root}: run `ophora-data {name}` first")
    return rows


def rows_by(rows: list[Row] | None, key: str) -> dict[Any, list[Row]]:
    return group_by(rows or [], key)


def first_value(rows: list[Row], column: str) -> Any:
    """The first non-null value of a column among one key's rows (summary columns)."""
    for row in rows:
        if row.get(column) is not None:
            return row[column]
    return None


def is_check_row(row: Row) -> bool:
    return bool(row.get("check"))


def measured_reader(run: RunDir, config: Config) -> Callable[[str], list[Row] | None]:
    """Rows per stage as decide saw them (tolerant of threshold-only config changes).

    `ophora_data.audit.measured` re-bases thresholds so rows stay readable after a
    refilter; without it, rows under the current config hash are used.
    """
    try:
        from ophora_data.audit.measured import MeasuredTables
    except ModuleNotFoundError:
        return lambda name: current_rows(run, config, name)
    return MeasuredTables(run, config).rows
