"""Read the current rows of a stage (under its current config hash) for the release, via DuckDB.

Stages are resolved through the registry module at call time (not imported names), so a
missing stage module reads as "no table" and tests can register stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ophora_data.config import Config
from ophora_data.run.db import RunDB
from ophora_data.run.tables import decode_arrow, group_by
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry

Row = dict[str, Any]


class MissingStage(LookupError):
    """A stage the release cannot do without has no module or no current rows."""


def stage_available(name: str) -> bool:
    return name in registry.stage_names()


def current_rows(run: RunDir, config: Config, name: str, db: RunDB | None = None) -> list[Row] | None:
    """Rows of `name` under its current config hash (resolved by DuckDB); None when its module is absent."""
    if not stage_available(name):
        return None
    db = db or RunDB(run, config)
    return decode_arrow(db.current(name)) if db.has_rows(name) else []


def required_rows(run: RunDir, config: Config, name: str, db: RunDB | None = None) -> list[Row]:
    rows = current_rows(run, config, name, db)
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


def measured_reader(run: RunDir, config: Config, db: RunDB | None = None) -> Callable[[str], list[Row] | None]:
    """Rows per stage as decide read them: the current rows, or None when the stage has no table
    (thresholds are not part of stage hashes, so a refilter keeps every measured row current)."""
    db = db or RunDB(run, config)

    def read(name: str) -> list[Row] | None:
        if not stage_available(name) or not db.has_rows(name):
            return None
        return decode_arrow(db.current(name))

    return read
