"""Append-only stage tables: `tables/<stage>/part-*.parquet` plus `_done/<config_hash>.json` markers.

A part file holds the rows of one commit of one stage run; it appears atomically (temp file,
then rename). The "current" rows of a work item are those of its newest part under the current
config hash, so a retry or `--overwrite` supersedes old rows without rewriting them (the audit
trail). Compaction (`ophora_data.run.compact`) merges parts into `compact-*.parquet` files that
keep every row with its original part name (`_part`) and row number in that part (`_row`), and
list the files they replace in their footer (`ophora.covers`): a covered file is ignored by every
reader from the moment the compacted file exists, so a reader never sees a row twice or a half
state.

Rows are read by DuckDB in place (`scan_sql`), never decoded whole into Python unless a caller
asks for Python rows. Nested values (lists, dicts) are stored as JSON (Arrow's `arrow.json`
extension type, DuckDB's JSON) and come back decoded in Python rows.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ophora_data.run.atomic import atomic_write, atomic_write_json

STATUSES = ("ok", "rejected", "failed")
PART_COLUMN = "_part"  # the part file a row was first written to (survives compaction)
ROW_COLUMN = "_row"  # the row's index inside that part
PART_PREFIX, COMPACT_PREFIX, SUFFIX = "part-", "compact-", ".parquet"
COVERS_KEY = b"ophora.covers"
# Parts written before nested values had a JSON type list their JSON columns here instead.
LEGACY_JSON_COLUMNS_KEY = b"ophora.json_columns"
JSON_TYPE = pa.json_(pa.string())


def now_iso(timespec: str = "seconds") -> str:
    """Now in UTC as ISO 8601, to `timespec` (`datetime.isoformat`'s: "seconds", "microseconds")."""
    return datetime.now(UTC).isoformat(timespec=timespec)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def empty_sql(columns: dict[str, str]) -> str:
    """A query with no rows and the given columns ({name: DuckDB type}): where a table without rows
    must still answer a query that names its columns (an empty result, not a catalog error)."""
    return f"SELECT {', '.join(f'NULL::{kind} AS {quote_ident(name)}' for name, kind in columns.items())} WHERE false"


def encode_rows(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows (dicts) as an Arrow table; columns holding lists/dicts become JSON text columns.
    `_part` and `_row` are where a row was read from, never stored: a row read back and written
    again (a retry, a copy) gets the part it is written to."""
    columns: dict[str, list[Any]] = {}
    for index, row in enumerate(rows):
        for name, value in row.items():
            if name in (PART_COLUMN, ROW_COLUMN):
                continue
            columns.setdefault(name, [None] * len(rows))[index] = value
    arrays: dict[str, pa.Array] = {}
    for name, values in columns.items():
        if any(isinstance(v, dict | list | tuple) for v in values):
            text = [None if v is None else json.dumps(v, sort_keys=True) for v in values]
            arrays[name] = pa.array(text, type=JSON_TYPE)
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def decode_arrow(table: pa.Table) -> list[dict[str, Any]]:
    """Arrow rows as Python dicts, JSON columns decoded."""
    json_columns = [f.name for f in table.schema if getattr(f.type, "extension_name", None) == "arrow.json"]
    rows = table.to_pylist()
    for name in json_columns:
        for row in rows:
            if isinstance(row.get(name), str):
                row[name] = json.loads(row[name])
    return rows


_FOOTERS: dict[tuple[str, int, int], dict[bytes, bytes]] = {}


def footer_metadata(path: Path) -> dict[bytes, bytes]:
    """A Parquet file's key-value metadata, cached per (path, size, mtime) in this process."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _FOOTERS:
        _FOOTERS[key] = dict(pq.read_schema(path).metadata or {})
    return _FOOTERS[key]


class Table:
    """One stage's table inside a run directory."""

    def __init__(self, workdir: Path, stage: str) -> None:
        self.stage = stage
        self.dir = Path(workdir) / "tables" / stage
        self.done_dir = self.dir / "_done"

    # Files ---------------------------------------------------------------------------
    def data_files(self) -> tuple[list[Path], list[Path]]:
        """(part files, compacted files) on disk, covered or not, sorted by name."""
        if not self.dir.is_dir():
            return [], []
        names = sorted(n for n in os.listdir(self.dir) if n.endswith(SUFFIX))
        return ([self.dir / n for n in names if n.startswith(PART_PREFIX)],
                [self.dir / n for n in names if n.startswith(COMPACT_PREFIX)])

    def covered(self, compacted: Iterable[Path]) -> set[str]:
        """Names of the files that the given compacted files replace."""
        names: set[str] = set()
        for path in compacted:
            try:
                names.update(json.loads(footer_metadata(path).get(COVERS_KEY, b"[]")))
            except FileNotFoundError:  # removed by a newer compaction since the listing
                continue
        return names

    def parts(self) -> list[Path]:
        """The live data files: parts and compacted files that no compacted file replaces."""
        parts, compacted = self.data_files()
        covered = self.covered(compacted)
        return [p for p in sorted(parts + compacted, key=lambda p: p.name) if p.name not in covered]

    # Writing -------------------------------------------------------------------------
    def new_part_path(self, prefix: str = PART_PREFIX) -> Path:
        # Zero-padded nanoseconds sort parts by write order; pid+uuid avoid collisions.
        return self.dir / f"{prefix}{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"

    def append(self, rows: Iterable[dict[str, Any]]) -> Path | None:
        """Write rows as a new part file (atomically); returns its path, None when empty."""
        rows = list(rows)
        return self.append_arrow(encode_rows(rows)) if rows else None

    def append_arrow(self, table: pa.Table) -> Path | None:
        """Write an Arrow table of rows as a new part file (atomically); None when empty."""
        if table.num_rows == 0:
            return None
        table = table.drop_columns([c for c in (PART_COLUMN, ROW_COLUMN) if c in table.column_names])
        return atomic_write(self.new_part_path(), lambda tmp: pq.write_table(table, tmp, compression="zstd"))

    # Reading (DuckDB, in place) --------------------------------------------------------
    def scan_sql(self, files: Sequence[Path] | None = None) -> str | None:
        """A SELECT over every row of the live files (`_part`, `_row` included); None when empty."""
        files = self.parts() if files is None else list(files)
        if not files:
            return None
        listing = "[" + ", ".join(quote_literal(str(p)) for p in files) + "]"
        compacted = any(p.name.startswith(COMPACT_PREFIX) for p in files)
        part = "coalesce(_part, regexp_extract(_file, '[^/]+$'))" if compacted else "regexp_extract(_file, '[^/]+$')"
        row = "coalesce(_row, file_row_number)" if compacted else "file_row_number"
        exclude = "_file, file_row_number" + (", _part, _row" if compacted else "")
        legacy = self.legacy_json_columns(files)
        replace = (" REPLACE (" + ", ".join(f"CAST({quote_ident(c)} AS JSON) AS {quote_ident(c)}"
                                            for c in sorted(legacy)) + ")") if legacy else ""
        return (f"SELECT * EXCLUDE ({exclude}){replace}, {part} AS _part, {row}::BIGINT AS _row "
                f"FROM read_parquet({listing}, union_by_name=true, filename='_file', file_row_number=true)")

    @staticmethod
    def legacy_json_columns(files: Iterable[Path]) -> set[str]:
        """JSON columns that parts written before the JSON type store as plain text."""
        names: set[str] = set()
        for path in files:
            if path.name.startswith(PART_PREFIX):
                names.update(json.loads(footer_metadata(path).get(LEGACY_JSON_COLUMNS_KEY, b"[]")))
        return names

    def query(self, sql_of: Callable[[str], str], con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
        """Run `sql_of(scan)` (scan = this table's rows as a subquery); retried once when a
        compaction removed a file between listing and reading."""
        for attempt in range(3):
            scan = self.scan_sql()
            if scan is None:
                return pa.table({})
            try:
                return (con or connect()).sql(sql_of(f"({scan})")).to_arrow_table()
            except duckdb.IOException:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def columns(self) -> list[str]:
        """Column names of the table (union over its live files); [] when empty."""
        scan = self.scan_sql()
        if scan is None:
            return []
        return [row[0] for row in connect().execute(f"DESCRIBE {scan}").fetchall()]

    def all_rows(self) -> list[dict[str, Any]]:
        """Every row ever written (Python dicts), in part order then row order."""
        return decode_arrow(self.query(lambda scan: f"SELECT * FROM {scan} ORDER BY _part, _row"))

    def current(self, key: str, config_hash: str | None = None,
                columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Rows of each `key`'s newest part (under `config_hash` when given), as Python dicts.

        For Python callers that need whole rows of a small table; commands at scale use
        `ophora_data.run.db.RunDB`, which resolves the same rows as a DuckDB view.
        """
        present = set(self.columns())
        if not present or (config_hash is not None and "config_hash" not in present):
            return []
        select = ", ".join(quote_ident(c) for c in columns if c in present) if columns else "*"
        sql = current_rows_sql(key if key in present else None, config_hash)
        return decode_arrow(self.query(lambda scan: f"SELECT {select} FROM ({sql.format(scan=scan)}) "
                                                    "ORDER BY _part, _row"))

    # Markers -------------------------------------------------------------------------
    def write_marker(self, config_hash: str, counts: dict[str, Any]) -> Path:
        marker = {"stage": self.stage, "config_hash": config_hash, "counts": counts, "time": now_iso()}
        return atomic_write_json(self.done_dir / f"{config_hash}.json", marker)

    def marker(self, config_hash: str) -> dict[str, Any] | None:
        path = self.done_dir / f"{config_hash}.json"
        return json.loads(path.read_text()) if path.exists() else None


def current_rows_sql(work_key: str | None, config_hash: str | None) -> str:
    """SQL template (`{scan}` = all rows) for the current rows: the newest part per work item
    under `config_hash` (every hash when None). Rows whose work key is NULL form one item."""
    where = f"WHERE config_hash = {quote_literal(config_hash)} " if config_hash is not None else ""
    partition = quote_ident(work_key) if work_key else "NULL"
    return (f"SELECT * FROM {{scan}} {where}"
            f"QUALIFY _part = max(_part) OVER (PARTITION BY {partition})")


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose Arrow results keep JSON columns typed `arrow.json`
    (so `decode_arrow` decodes them and Parquet written from them keeps the JSON type)."""
    con = duckdb.connect()
    con.execute("SET arrow_lossless_conversion = true")
    return con


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
