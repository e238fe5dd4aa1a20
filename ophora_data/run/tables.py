"""Append-only stage tables: `tables/<stage>/part-*.parquet` plus `_done/<config_hash>.json` markers.

A part file holds the rows of one flush of one stage run; it appears atomically. The
"current" rows of a key are those of its newest part under the current config hash, so
a retry or `--overwrite` supersedes old rows without rewriting them (the audit trail).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ophora_data.run.atomic import atomic_write, atomic_write_json

STATUSES = ("ok", "rejected", "failed")
PART_COLUMN = "_part"
_JSON_COLUMNS_KEY = b"ophora.json_columns"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _encode_rows(rows: list[dict[str, Any]]) -> pa.Table:
    columns: dict[str, list[Any]] = {}
    for index, row in enumerate(rows):
        for name in row:
            columns.setdefault(name, [None] * len(rows))
        for name, value in row.items():
            columns[name][index] = value
    json_columns = [name for name, values in columns.items() if any(isinstance(v, dict | list | tuple) for v in values)]
    for name in json_columns:
        columns[name] = [None if v is None else json.dumps(v, sort_keys=True) for v in columns[name]]
    table = pa.table(columns)
    return table.replace_schema_metadata({_JSON_COLUMNS_KEY: json.dumps(json_columns).encode()})


def _decode_part(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path)
    metadata = table.schema.metadata or {}
    json_columns = set(json.loads(metadata.get(_JSON_COLUMNS_KEY, b"[]")))
    rows = table.to_pylist()
    for row in rows:
        for name in json_columns:
            if isinstance(row.get(name), str):
                row[name] = json.loads(row[name])
        row[PART_COLUMN] = path.name
    return rows


class Table:
    """One stage's table inside a run directory."""

    def __init__(self, workdir: Path, stage: str) -> None:
        self.stage = stage
        self.dir = Path(workdir) / "tables" / stage
        self.done_dir = self.dir / "_done"

    def parts(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.glob("part-*.parquet"))

    def append(self, rows: Iterable[dict[str, Any]]) -> Path | None:
        """Write rows as a new part file (atomically); returns its path, None when empty."""
        rows = list(rows)
        if not rows:
            return None
        table = _encode_rows(rows)
        # Zero-padded nanoseconds sort parts by write order; pid+uuid avoid collisions.
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        return atomic_write(self.dir / name, lambda tmp: pq.write_table(table, tmp))

    def all_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for part in self.parts():
            rows.extend(_decode_part(part))
        return rows

    def current(self, key: str, config_hash: str | None = None) -> list[dict[str, Any]]:
        """Rows of each key's newest part (under `config_hash` when given)."""
        rows = [r for r in self.all_rows() if config_hash is None or r.get("config_hash") == config_hash]
        newest: dict[Any, str] = {}
        for row in rows:
            k = row.get(key)
            newest[k] = max(newest.get(k, ""), row[PART_COLUMN])
        return [r for r in rows if r[PART_COLUMN] == newest[r.get(key)]]

    def write_marker(self, config_hash: str, counts: dict[str, Any]) -> Path:
        marker = {"stage": self.stage, "config_hash": config_hash, "counts": counts, "time": now_iso()}
        return atomic_write_json(self.done_dir / f"{config_hash}.json", marker)

    def marker(self, config_hash: str) -> dict[str, Any] | None:
        path = self.done_dir / f"{config_hash}.json"
        return json.loads(path.read_text()) if path.exists() else None


def key_status(rows: list[dict[str, Any]]) -> str:
    """The status of one key from its rows: failed > rejected > ok."""
    statuses = {r.get("status") for r in rows}
    for status in ("failed", "rejected"):
        if status in statuses:
            return status
    return "ok"


def group_by(
    rows: Iterable[dict[str, Any]], key: str | Callable[[dict[str, Any]], Any]
) -> dict[Any, list[dict[str, Any]]]:
    """Rows by a column's value, or by `key(row)` when key is a function."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(key(row) if callable(key) else row.get(key), []).append(row)
    return groups
