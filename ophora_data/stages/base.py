"""The stage contract: a small class, config on the instance, models loaded in setup().

An executor owns parallelism, batching, retries and markers; a stage only turns one
item (a dict) into rows (dicts). Every row carries the stage's key, `status` in
{ok, rejected, failed} and a `reason`; the executor adds `config_hash`, `updated_at`
and `retryable`. Checks write one row per check (see `check_row`).

Stages read upstream tables through `self.db` (`ophora_data.run.db.RunDB`): DuckDB resolves the
current rows in place and only the columns asked for reach Python. At the paper's scale (160K
clips) `items()` of a per-clip stage should return an Arrow table (the executor turns only the
pending items into dicts, and `status` counts pending items without any).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from ophora_data.config import Bound, Config
from ophora_data.run.tables import key_status, quote_ident
from ophora_data.run.workdir import RunDir

if TYPE_CHECKING:
    from ophora_data.run.db import RunDB

Row = dict[str, Any]
Items = list[dict[str, Any]] | pa.Table
# The columns of a check row (`check_row`, `flag_row`) besides the key, status and reason.
def item_count(items: Items) -> int:
    """How many work items (a list of dicts or an Arrow table)."""
    return items.num_rows if isinstance(items, pa.Table) else len(items)


CHECK_COLUMNS = ("check", "value", "threshold", "threshold_max", "op", "passed", "model", "model_revision")


class StageError(RuntimeError):
    """The stage itself cannot run (missing extra, missing model); exit code 1."""


class Stage:
    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    key: ClassVar[str] = "video_id"
    # The key of a work item when it differs from the row key: e.g. `cut` takes one source
    # video (item_key video_id) and writes one row per clip (key clip_id). Resume is per item.
    item_key: ClassVar[str | None] = None
    # Config sections whose values change this stage's output (part of its config hash).
    config_sections: ClassVar[tuple[str, ...]] = ()
    # True when the stage's rows depend on its Bounds beyond stored check values (see registry).
    hash_bounds: ClassVar[bool] = False
    # Bump when the stage's logic changes its output: part of the config hash too.
    version: ClassVar[str] = "1"
    # >1: the executor hands process_batch() lists of up to this many items.
    batch_size: ClassVar[int] = 1
    # False: always run in the main process (GPU models, cross-item logic).
    parallel: ClassVar[bool] = True
    # True: `process_all` computes every pending item in one set-based query (e.g. `decide`).
    set_based: ClassVar[bool] = False
    # Columns this stage writes that later stages rely on (besides its key and status/reason):
    # the empty views of a stage without rows still have them, so queries on it return no rows
    # instead of an error.
    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Config, run: RunDir) -> None:
        self.config = config
        self.run = run

    @classmethod
    def work_key(cls) -> str:
        return cls.item_key or cls.key

    @classmethod
    def hash_inputs(cls, config: Config) -> dict[str, Any]:
        """Inputs outside the config sections that change the output (e.g. an env-selected endpoint)."""
        return {}

    @classmethod
    def row_identity(cls, row: Row) -> Any:
        """What a row counts under: its key, or its work item when a failure left the key empty."""
        value = row.get(cls.key)
        return value if value is not None else row.get(cls.work_key())

    def setup(self) -> None:
        """Load models here, never in __init__ (called once per worker)."""

    @property
    def db(self) -> RunDB:
        """DuckDB views over this run's tables under this stage's config (created on first use)."""
        if getattr(self, "_db", None) is None:
            from ophora_data.run.db import RunDB

            self._db = RunDB(self.run, self.config)
        return self._db

    def share_db(self, db: RunDB) -> Stage:
        """Use `db` (same run and config) instead of opening another connection; returns self."""
        self._db = db
        return self

    def items_sql(self) -> str | None:
        """SQL of the work items (one row per work key, in processing order) over `self.db`'s views,
        for stages whose items are a query: `items()` runs it; the executor and `status` filter and
        count it in DuckDB without fetching done items. Default: the first row of each ok key of
        the first needed table. None: the stage builds its items in Python (it overrides `items()`)."""
        if type(self).items is not Stage.items or not self.needs:
            return None
        return self.db.ok_first_rows_sql(self.needs[0])

    def work_keys_sql(self) -> str | None:
        """SQL of the work items' keys alone (one column named `work_key()`; the same keys as
        `items()`), for `status` to count pending items without building the items. Default: the
        ok keys of the first need when the items are the default, else the key column of
        `items_sql()`; None when the stage builds its items in Python. A stage whose item query
        joins upstream rows overrides it with a cheaper query of the same keys."""
        if type(self).items_sql is Stage.items_sql and type(self).items is Stage.items and self.needs:
            return self.db.ok_key_column_sql(self.needs[0], self.work_key())
        sql = self.items_sql()
        return None if sql is None else f"SELECT {quote_ident(self.work_key())} FROM ({sql})"

    def items(self) -> Items:
        """Work items, one per work key, as dicts or an Arrow table (one row per item): by
        default `items_sql()` run."""
        sql = self.items_sql()
        return self.db.arrow(sql) if sql is not None else []

    def item_rows(self) -> list[Row]:
        """`items()` as Python dicts whatever form it returns (for tests and small runs)."""
        from ophora_data.run.tables import decode_arrow

        items = self.items()
        return decode_arrow(items) if isinstance(items, pa.Table) else list(items)

    def process(self, item: Row) -> list[Row]:
        raise NotImplementedError

    def process_batch(self, items: list[Row]) -> list[list[Row]]:
        return [self.process(item) for item in items]

    def process_all(self, items: pa.Table) -> pa.Table:
        """Set-based stages (`set_based = True`): the rows of every item in `items` at once."""
        raise NotImplementedError

    def finalize(self) -> list[Row]:
        """Rows computed across all items (after process); default none."""
        return []

    def status_figures(self, db: RunDB) -> dict[str, Any]:
        """Stage-specific figures for `status` (e.g. token usage), computed with SQL over `db`'s
        current view of this stage (`db.execute("... FROM <name>")`); default none."""
        return {}

    # Helpers for subclasses ------------------------------------------------------------
    def upstream_rows(self, stage: str, columns: Sequence[str] | None = None) -> list[Row]:
        """Current rows of an upstream stage under its current config hash (only `columns`
        when given). Newest part per work item: a re-processed video replaces all its old clip rows."""
        from ophora_data.run.tables import decode_arrow

        return decode_arrow(self.db.current(stage, columns))

    def upstream_ok_table(self, stage: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One row per key whose rows are all ok under today's bounds (the first row of each
        such key, in part and row order), as Arrow with `columns` (all when None)."""
        return self.db.ok_first_rows(stage, columns)

    def upstream_ok(self, stage: str, columns: Sequence[str] | None = None) -> list[Row]:
        """`upstream_ok_table` as Python dicts (JSON columns decoded)."""
        from ophora_data.run.tables import decode_arrow

        return decode_arrow(self.upstream_ok_table(stage, columns))

    def upstream_status(self, stage: str, rows: list[Row]) -> str:
        """A key's status with its check rows re-judged against the current config's bounds.

        Thresholds are not part of stage hashes, so a stored status may predate a new bound:
        gating on the stored value keeps downstream stages consistent with `decide`.
        """
        return key_status([{"status": current_status(stage, row, self.config)} for row in rows])


def config_bound(config: Config, stage: str, check: str) -> Bound | None:
    """The Bound that judges `check` of `stage` (config.<stage>.<check>), if there is one."""
    bound = getattr(getattr(config, stage, None), check, None)
    return bound if isinstance(bound, Bound) else None


def numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def current_status(stage: str, row: Row, config: Config) -> str:
    """A row's status with a numeric check re-evaluated under the config's current bound."""
    bound = config_bound(config, stage, row["check"]) if row.get("check") else None
    value = numeric(row.get("value"))
    if row.get("status") == "failed" or bound is None or value is None:
        return row.get("status") or "failed"
    return "ok" if bound.accepts(value) else "rejected"


def check_row(
    key: str,
    key_value: str,
    check: str,
    value: float | None,
    bound: Bound,
    *,
    model: str | None = None,
    model_revision: str | None = None,
    **extra: Any,
) -> Row:
    """One auditable check: the value is stored so decide/refilter can re-evaluate it."""
    passed = bound.accepts(value)
    if passed:
        reason = ""
    elif value is None:
        reason = f"{check}: no value"
    else:
        limits = f"[{bound.min}, {bound.max}]" if bound.op == "between" else f"{bound.op} {bound.threshold}"
        reason = f"{check} {value:.4g} not {limits}"
    return {
        key: key_value,
        "status": "ok" if passed else "rejected",
        "reason": reason,
        "check": check,
        "value": None if value is None else float(value),
        "threshold": bound.threshold,
        "threshold_max": bound.max if bound.op == "between" else None,
        "op": bound.op,
        "passed": passed,
        "model": model,
        "model_revision": model_revision,
        **extra,
    }


def flag_row(key: str, key_value: str, check: str, passed: bool, reason: str, **extra: Any) -> Row:
    """A boolean check with no tunable threshold (e.g. privacy verification)."""
    return {
        key: key_value,
        "status": "ok" if passed else "rejected",
        "reason": "" if passed else reason,
        "check": check,
        "value": 1.0 if passed else 0.0,
        "threshold": 1.0,
        "threshold_max": None,
        "op": "==",
        "passed": passed,
        **extra,
    }
