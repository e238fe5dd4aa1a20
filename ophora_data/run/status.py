"""`status`: per stage ok / rejected / failed / pending and the top reasons.

The JSON form is stable: {stage: {ok, rejected, failed, pending, reasons: {reason: count},
done, config_hash, extras}}; `pending` is null when it cannot be known (e.g. ingest).
Everything is counted by DuckDB over the current views: no stage table is read into Python. A
table's counts, reasons and figures are remembered for its exact files (`run.summary`: at 160K
clips a status that counts every table takes ~3.5 s, one that reads the summaries ~2 s); pending
items are counted from the stages' work keys every time (`Stage.work_keys_sql`).
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any

import pyarrow as pa

from ophora_data.config import Config
from ophora_data.run.db import RunDB
from ophora_data.run.summary import read_summary, summary_key, write_summary
from ophora_data.run.tables import quote_ident
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Stage
from ophora_data.stages.registry import extra_stage_names, get_stage, stage_names

COUNT_FIELDS = {"ok", "rejected", "failed", "reasons", "extras"}  # what `table_counts` remembers
KEY_STATUS_SQL = ("CASE WHEN bool_or(status = 'failed') THEN 'failed' "
                  "WHEN bool_or(status = 'rejected') THEN 'rejected' ELSE 'ok' END")


def _identity(cls: type[Stage], present: dict[str, str]) -> str:
    """`Stage.row_identity` in SQL: the key, or the work item when a failure left the key empty."""
    names = [quote_ident(c) for c in dict.fromkeys((cls.key, cls.work_key())) if c in present]
    return f"coalesce({', '.join(names)})" if names else "NULL"


def _pending(stage: Stage, db: RunDB) -> int | None:
    """Items of the stage with no current row yet (None when its inputs cannot be read). Items
    whose keys are a query (`work_keys_sql`) are counted by DuckDB without being built."""
    cls = type(stage)
    if not cls.needs:
        return None
    work_key = cls.work_key()
    started = db.started_sql(cls.name)
    try:
        sql = stage.work_keys_sql()
        if sql is not None:
            key = quote_ident(work_key)
            return int(db.scalar(f"SELECT count(*) FROM ({sql}) _i WHERE _i.{key} NOT IN ({started})"))
        items = stage.items()
    except Exception:  # noqa: BLE001 - status must work even when a stage's inputs are odd
        return None
    done = {row[0] for row in db.execute(started).fetchall()}
    keys = items.column(work_key).to_pylist() if isinstance(items, pa.Table) else (item[work_key] for item in items)
    return sum(1 for key in keys if key not in done)


def stage_status(run: RunDir, config: Config, name: str, top: int = 10, db: RunDB | None = None) -> dict[str, Any]:
    """One stage's status: counts, reasons and figures from its table (remembered for the table's
    exact files, see `run.summary`), pending items and the done marker computed every time."""
    db = db or RunDB(run, config)
    stage = get_stage(name)(config, run).share_db(db)
    table = run.table(name)
    counted = table_counts(stage, db, top)
    return {
        "ok": counted["ok"],
        "rejected": counted["rejected"],
        "failed": counted["failed"],
        "pending": _pending(stage, db),
        "reasons": counted["reasons"],
        "done": table.marker(db.config_hash(name)) is not None,
        "config_hash": db.config_hash(name),
        "extras": counted["extras"],
    }


def table_counts(stage: Stage, db: RunDB, top: int = 10) -> dict[str, Any]:
    """{ok, rejected, failed, reasons, extras} of the stage's current rows: the table's summary
    when it was made for the table's files and hash, else counted now and remembered."""
    table = stage.run.table(type(stage).name)
    key = summary_key(db.files(table.stage), db.config_hash(table.stage), top, _code_stamp(type(stage)))
    counted = read_summary(table, key)
    if not isinstance(counted, dict) or not counted.keys() >= COUNT_FIELDS:  # none, or damaged by hand
        # Through JSON either way: a remembered answer and a fresh one print the same.
        counted = json.loads(json.dumps(_count(stage, db, top)))
        write_summary(table, key, counted)
    return counted


def _code_stamp(cls: type[Stage]) -> str:
    """Size and mtime of the files whose code counts a table (the stage's module, for its figures,
    and this one): a summary made by other code is not reused. A stat each, no reading."""
    stamps = []
    for path in (inspect.getfile(cls), __file__):
        try:
            info = os.stat(path)
            stamps.append(f"{info.st_size}:{info.st_mtime_ns}")
        except OSError:
            stamps.append("?")
    return "/".join(stamps)


def _count(stage: Stage, db: RunDB, top: int) -> dict[str, Any]:
    """Keys by status, the `top` reasons of non-ok rows and the stage's figures, over its current rows."""
    cls = type(stage)
    view = db.ensure(cls.name)
    present = db.columns(cls.name)
    reason = "reason" if "reason" in present else "NULL"
    # One read of the current rows for both figures: keys by status, non-ok rows by reason.
    rows = db.execute(
        f"WITH cur AS MATERIALIZED (SELECT {_identity(cls, present)} AS _id, status, {reason} AS reason, "
        f"_part, _row FROM {view}) "
        f"SELECT 'status', s, count(*), NULL, NULL FROM (SELECT {KEY_STATUS_SQL} AS s FROM cur GROUP BY _id) "
        f"GROUP BY s "
        f"UNION ALL SELECT 'reason', coalesce(nullif(reason, ''), '?'), count(*), min(_part), min(_row) FROM cur "
        f"WHERE status IS DISTINCT FROM 'ok' GROUP BY 2").fetchall()
    counts = {value: n for kind, value, n, _, _ in rows if kind == "status"}
    reasons = sorted(((value, n, part, row) for kind, value, n, part, row in rows if kind == "reason"),
                     key=lambda r: (-r[1], r[2], r[3]))[:top]
    return {
        "ok": counts.get("ok", 0),
        "rejected": counts.get("rejected", 0),
        "failed": counts.get("failed", 0),
        "reasons": {value: n for value, n, _, _ in reasons},
        "extras": stage.status_figures(db),
    }


def run_status(run: RunDir, config: Config) -> dict[str, dict[str, Any]]:
    """Every pipeline stage, then the stages outside it (e.g. `reproduce`) that have a table."""
    db = RunDB(run, config, materialize=True)  # every stage's rows are counted several times
    names = stage_names() + [name for name in extra_stage_names() if run.table(name).parts()]
    return {name: stage_status(run, config, name, db=db) for name in names}
