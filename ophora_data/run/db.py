"""DuckDB over the run's Parquet tables, in place: the one way commands read stage rows.

Views (created on first use, refreshed when a table's files change):
  <stage>_all   every row the stage ever wrote (the audit trail); `_part` = the part file it was
                written to, `_row` = its index there (both survive compaction)
  <stage>       the current rows: the newest part per work item under the stage's current config
                hash (thresholds are not part of it, so rows stay current after a threshold change)

A registered stage with no rows yet still has both views, empty, with the columns it is known to
write, so a query on it returns an empty result instead of a catalog error. Queries return Arrow
(`arrow`) or Python rows with JSON columns decoded (`rows`); nothing reads whole tables into Python
unless asked to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from ophora_data.config import Bound, Config
from ophora_data.run.tables import connect, current_rows_sql, decode_arrow, empty_sql, quote_ident, quote_literal
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import extra_stage_names, get_stage, stage_config_hash, stage_names

# Columns every stage row has (the executor adds config_hash, updated_at, retryable).
BASE_COLUMNS = ("status", "reason", "config_hash", "updated_at", "retryable")
# Types of well-known columns in the empty views of stages without rows (others are VARCHAR).
EMPTY_TYPES = {"retryable": "BOOLEAN", "passed": "BOOLEAN", "value": "DOUBLE", "threshold": "DOUBLE",
               "threshold_max": "DOUBLE", "reasons": "JSON", "reason_keys": "JSON", "subsets": "JSON"}
NUMERIC_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT",
                 "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")


def _is_numeric(type_name: str) -> bool:
    return type_name.split("(")[0] in NUMERIC_TYPES


class RunDB:
    """A DuckDB connection with views over one run's tables, for one resolved config.

    Cheap to create (nothing is read until a view is used). Not shared between processes.
    """

    def __init__(self, run: RunDir, config: Config | None = None, materialize: bool = False) -> None:
        """`materialize`: hold each stage's newest part per work item in a small temporary table the
        first time the stage is used, and join with it, for commands that query every stage several
        times (`status`, `run`); without it the current view resolves them with a window in every
        query (cheaper for a query that filters one clip, like `explain`)."""
        self.run = run
        self.config = config or run.load_config()
        self.materialize = materialize
        self.con = connect()
        self.con.execute(f"SET memory_limit = {quote_literal(self.config.run.duckdb_memory_limit)}")
        self.con.execute(f"SET temp_directory = {quote_literal(str(run.cache_dir / 'duckdb'))}")
        self._files: dict[str, tuple[str, ...] | None] = {}
        self._hashes: dict[str, str] = {}
        self._types: dict[str, dict[str, str]] = {}
        self._names: list[str] | None = None
        self._registered: set[str] | None = None
        self._ok_keys: set[tuple[str, str]] = set()  # (stage, key) with a `_ok_<stage>_<key>` temp table
        self._newest: dict[str, str] = {}  # stage -> work key of its `_newest_<stage>` temp table

    # Stages and hashes ------------------------------------------------------------------
    def registered(self, stage: str) -> bool:
        """A stage the registry knows (pipeline or extra): it has a current view, not only `_all`."""
        if self._registered is None:
            self._registered = set(stage_names()) | set(extra_stage_names())
        return stage in self._registered

    def config_hash(self, stage: str) -> str:
        if stage not in self._hashes:
            self._hashes[stage] = stage_config_hash(get_stage(stage), self.config)
        return self._hashes[stage]

    def has_rows(self, stage: str) -> bool:
        """True when the stage's table has at least one live file."""
        return bool(self.run.table(stage).parts())

    # Views ------------------------------------------------------------------------------
    def ensure(self, stage: str, refresh: bool = False) -> str:
        """Create or refresh the views of `stage`; returns the quoted name of its current view
        (of `<stage>_all` for a table whose stage is not registered)."""
        table = self.run.table(stage)
        files = tuple(str(p) for p in table.parts())
        known = self.registered(stage)
        if refresh or self._files.get(stage, ()) != files or stage not in self._files:
            scan = table.scan_sql([table.dir / f for f in files]) if files else None
            if scan is None and not known:
                scan = empty_sql({"status": "VARCHAR"})
            self.con.execute(f"CREATE OR REPLACE VIEW {quote_ident(stage + '_all')} AS "
                             f"{scan if scan is not None else self._empty_sql(stage)}")
            if known:
                self.con.execute(f"CREATE OR REPLACE VIEW {quote_ident(stage)} AS {self._current_sql(stage)}")
            self._files[stage] = files
            self._types.pop(stage, None)
            self._ok_keys = {entry for entry in self._ok_keys if entry[0] != stage}
        return quote_ident(stage if known else stage + "_all")

    def files(self, stage: str) -> tuple[str, ...]:
        """The live files the views of `stage` read (listed by the last `ensure`)."""
        self.ensure(stage)
        return self._files[stage] or ()

    def ensure_all(self) -> list[str]:
        """Views for every registered stage and every table directory; returns the stage names."""
        names = list(dict.fromkeys([*stage_names(), *self.run.stages_with_tables()]))
        for name in names:
            self.ensure(name)
        return names

    def _empty_sql(self, stage: str) -> str:
        cls = get_stage(stage)
        names = [cls.key, *( [cls.item_key] if cls.item_key else []), *BASE_COLUMNS, *cls.columns]
        return empty_sql({**{c: EMPTY_TYPES.get(c, "VARCHAR") for c in names}, "_part": "VARCHAR", "_row": "BIGINT"})

    def _current_sql(self, stage: str) -> str:
        cls = get_stage(stage)
        every = quote_ident(stage + "_all")
        present = self.columns(stage + "_all")
        if "config_hash" not in present:
            return f"SELECT * FROM {every} WHERE false"
        key = cls.work_key() if cls.work_key() in present else None
        if not self.materialize or key is None:
            return current_rows_sql(key, self.config_hash(stage)).format(scan=every)
        # The same rows as `current_rows_sql`, as a join with each work item's newest part held in a
        # small temp table: cheaper than the window when every stage is queried several times.
        newest, k, h = quote_ident(f"_newest_{stage}"), quote_ident(key), quote_literal(self.config_hash(stage))
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {newest} AS SELECT {k}, max(_part) AS _newest "
                         f"FROM {every} WHERE config_hash = {h} GROUP BY {k}")
        self._newest[stage] = key
        return (f"SELECT a.* FROM {every} a JOIN {newest} n ON a.{k} IS NOT DISTINCT FROM n.{k} "
                f"AND a._part = n._newest WHERE a.config_hash = {h}")

    def started_sql(self, stage: str) -> str:
        """SQL of the work items of `stage` that have current rows (one column `_key`, no NULLs).
        When materializing, read from the newest-part temp table (one row per work item; each
        has its newest part's rows in the current view) instead of scanning the rows."""
        view = self.ensure(stage)
        key = get_stage(stage).work_key()
        if self._newest.get(stage) == key:
            k = quote_ident(key)
            return f"SELECT {k} AS _key FROM {quote_ident(f'_newest_{stage}')} WHERE {k} IS NOT NULL"
        if key not in self.columns(stage):
            return empty_sql({"_key": "VARCHAR"})
        return f"SELECT DISTINCT {quote_ident(key)} AS _key FROM {view} WHERE {quote_ident(key)} IS NOT NULL"

    def columns(self, view: str) -> dict[str, str]:
        """{column: DuckDB type} of a view (or of a stage's current view)."""
        if view not in self._types:
            rows = self.con.execute(f"DESCRIBE {quote_ident(view)}").fetchall()
            self._types[view] = {row[0]: str(row[1]) for row in rows}
        return self._types[view]

    def columns_of_all(self, stage: str) -> dict[str, str]:
        """{column: type} of every row the stage ever wrote (`<stage>_all`)."""
        self.ensure(stage)
        return self.columns(stage + "_all")

    def stage_columns(self, stage: str) -> dict[str, str]:
        self.ensure(stage)
        return self.columns(stage)

    # Queries ----------------------------------------------------------------------------
    def _ensure_mentioned(self, sql: str) -> None:
        """Create (or refresh) the views of every stage whose name the SQL mentions."""
        if self._names is None:
            self._names = list(dict.fromkeys([*stage_names(), *self.run.stages_with_tables()]))
        for name in self._names:
            if re.search(rf"\b{re.escape(name)}(_all)?\b", sql):
                self.ensure(name)

    def _retrying(self, sql: str, run: Callable[[], Any]) -> Any:
        """`run()` with the views the SQL mentions in place; retried after a refresh when a
        compaction removed a file between listing and reading."""
        self._ensure_mentioned(sql)
        for attempt in range(3):
            try:
                return run()
            except duckdb.IOException:
                if attempt == 2:
                    raise
                for stage in list(self._files):
                    self.ensure(stage, refresh=True)
        raise AssertionError("unreachable")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run SQL over the views (created as needed); returns the cursor (`fetchall()` etc.)."""
        return self._retrying(sql, lambda: self.con.execute(sql, params))

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        """A query's result as Arrow (JSON columns typed `arrow.json`, so `rows` decodes them)."""
        return self._retrying(sql, lambda: self.con.sql(sql, params=params).to_arrow_table())

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return decode_arrow(self.arrow(sql, params))

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        table = self.arrow(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def strings_table(self, name: str, column: str, values: Sequence[str]) -> str:
        """Hold `values` in a temporary one-column table (replaced if it exists); returns its quoted
        name. For a list built in Python (e.g. the files in a folder) that a query filters with:
        passed as one parameter, not through Arrow, whose conversion would import pandas (0.7 s)."""
        table = quote_ident(name)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT unnest($1::VARCHAR[]) AS "
                         f"{quote_ident(column)}", [list(values)])
        return table

    def current(self, stage: str, columns: Sequence[str] | None = None, where: str | None = None) -> pa.Table:
        """Current rows of `stage` as Arrow, in part and row order: only `columns` (missing ones
        as NULL) when given, only rows matching the SQL condition `where` when given."""
        view = self.ensure(stage)
        present = self.columns(stage)
        cols = "*" if columns is None else ", ".join(
            quote_ident(c) if c in present else f"NULL AS {quote_ident(c)}" for c in columns)
        condition = f" WHERE {where}" if where else ""
        return self.arrow(f"SELECT {cols} FROM {view}{condition} ORDER BY _part, _row")

    # Check rows judged under today's bounds --------------------------------------------
    def bounds_sql(self, stage: str, text: Callable[[Bound], str] | None = None) -> str | None:
        """VALUES (_check, _min, _max[, _text]) of every Bound in config.<stage>, or None when it
        has none; `text(bound)` adds a display column."""
        section = getattr(self.config, stage, None)
        if section is None:
            return None
        rows = []
        for name in type(section).model_fields:
            bound = getattr(section, name)
            if isinstance(bound, Bound):
                shown = f", {quote_literal(text(bound))}" if text else ""
                rows.append(f"({quote_literal(name)}, {_num(bound.min)}, {_num(bound.max)}{shown})")
        columns = "_check, _min, _max" + (", _text" if text else "")
        return f"(VALUES {', '.join(rows)}) AS _b({columns})" if rows else None

    def judged_sql(self, stage: str) -> str:
        """The current rows of `stage` plus `_status_now`: a row's status with a numeric check
        re-evaluated against the config's current Bound (a failed row stays failed; a check
        without a bound or without a numeric value keeps its stored status)."""
        view = self.ensure(stage)
        present = self.columns(stage)
        bounds = self.bounds_sql(stage)
        status = "coalesce(_c.status, 'failed')" if "status" in present else "'failed'"
        if not ("check" in present and "value" in present and _is_numeric(present["value"]) and bounds):
            return f"SELECT _c.*, {status} AS _status_now FROM {view} AS _c"
        value = "CAST(_c.value AS DOUBLE)"
        status_now = (f"CASE WHEN _c.status = 'failed' THEN 'failed' "
                      f"WHEN _b._check IS NOT NULL AND {value} IS NOT NULL AND NOT isnan({value}) THEN "
                      f"CASE WHEN (_b._min IS NULL OR {value} >= _b._min) AND (_b._max IS NULL OR {value} <= _b._max) "
                      f"THEN 'ok' ELSE 'rejected' END ELSE {status} END")
        return (f"SELECT _c.*, {status_now} AS _status_now FROM {view} AS _c "
                f"LEFT JOIN {bounds} ON _c.\"check\" = _b._check")

    def ok_keys_sql(self, stage: str, key: str) -> str:
        """SQL of the keys whose current rows are all ok under today's bounds: columns `_key` and
        `_first` (the key's first row as {p: _part, r: _row}). One aggregate over the judged rows;
        held in a temp table when materializing (several downstream stages ask for the same keys)."""
        sql = (f"SELECT {quote_ident(key)} AS _key, min({{'p': _part, 'r': _row}}) AS _first "
               f"FROM ({self.judged_sql(stage)}) WHERE {quote_ident(key)} IS NOT NULL GROUP BY 1 "
               f"HAVING bool_and(_status_now = 'ok')")
        if not self.materialize:
            return sql
        table = quote_ident(f"_ok_{stage}_{key}")
        self.ensure(stage)  # refreshes the view (and drops stale ok keys) when the files changed
        if (stage, key) not in self._ok_keys:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {sql}")
            self._ok_keys.add((stage, key))
        return f"SELECT _key, _first FROM {table}"

    def ok_key_column_sql(self, stage: str, name: str | None = None) -> str:
        """SQL of the keys of `stage` whose current rows are all ok under today's bounds, as one
        column named `name` (default: the stage's key), without their rows: what `status` counts
        pending items of the per-clip stages with (at 160K clips a tenth of joining their rows)."""
        key = get_stage(stage).key
        if key not in self.stage_columns(stage):
            return empty_sql({name or key: "VARCHAR"})
        return f"SELECT _key AS {quote_ident(name or key)} FROM ({self.ok_keys_sql(stage, key)})"

    def ok_first_rows_sql(self, stage: str, columns: Sequence[str] | None = None, ordered: bool = True) -> str:
        """SQL of one row per key whose current rows are all ok under today's bounds: the key's
        first row (in part and row order), with `columns` (all when None; missing ones as NULL),
        ordered by part and row unless `ordered` is False (a filter or count needs no order, and
        sorting 160K rows is most of such a query). Compose it into larger queries (joins) or run
        `ok_first_rows`."""
        key = get_stage(stage).key
        view = self.ensure(stage)
        present = self.columns(stage)
        wanted = list(columns) if columns is not None else list(present)
        select = ", ".join(f"_v.{quote_ident(c)}" if c in present else f"NULL::VARCHAR AS {quote_ident(c)}"
                           for c in wanted)
        if key not in present:
            return f"SELECT {select} FROM {view} AS _v WHERE false"
        # A join on each ok key's first (part, row), not a window over every row.
        return (f"SELECT {select} FROM {view} AS _v JOIN ({self.ok_keys_sql(stage, key)}) AS _ok "
                f"ON _v.{quote_ident(key)} = _ok._key AND _v._part = _ok._first.p AND _v._row = _ok._first.r"
                + (" ORDER BY _v._part, _v._row" if ordered else ""))

    def ok_first_rows(self, stage: str, columns: Sequence[str] | None = None) -> pa.Table:
        """`ok_first_rows_sql` run: Arrow."""
        return self.arrow(self.ok_first_rows_sql(stage, columns))


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NULL::DOUBLE"
    return f"CAST('{float(value)!r}' AS DOUBLE)"
