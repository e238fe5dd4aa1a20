"""`status`: per stage ok / rejected / failed / pending and the top reasons.

The JSON form is stable: {stage: {ok, rejected, failed, pending, reasons: {reason: count},
done, config_hash, extras}}; `pending` is null when it cannot be known (e.g. ingest).
Everything is counted by DuckDB over the current views: no stage table is read into Python.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ophora_data.config import Config
from ophora_data.run.db import RunDB
from ophora_data.run.tables import quote_ident
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Stage
from ophora_data.stages.registry import extra_stage_names, get_stage, stage_names

KEY_STATUS_SQL = ("CASE WHEN bool_or(status = 'failed') THEN 'failed' "
                  "WHEN bool_or(status = 'rejected') THEN 'rejected' ELSE 'ok' END")


def _identity(cls: type[Stage], present: dict[str, str]) -> str:
    """`Stage.row_identity` in SQL: the key, or the work item when a failure left the key empty."""
    names = [quote_ident(c) for c in dict.fromkeys((cls.key, cls.work_key())) if c in present]
    return f"coalesce({', '.join(names)})" if names else "NULL"


def _pending(stage: Stage, db: RunDB) -> int | None:
    """Items of the stage with no current row yet (None when its inputs cannot be read). Items
    that are a query (`items_sql`) are counted by DuckDB without being fetched."""
    cls = type(stage)
    if not cls.needs:
        return None
    work_key = cls.work_key()
    started = db.started_sql(cls.name)
    try:
        sql = stage.items_sql()
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
    db = db or RunDB(run, config)
    cls = get_stage(name)
    view = db.ensure(name)
    present = db.columns(name)
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
    stage = cls(config, run).share_db(db)
    return {
        "ok": counts.get("ok", 0),
        "rejected": counts.get("rejected", 0),
        "failed": counts.get("failed", 0),
        "pending": _pending(stage, db),
        "reasons": {value: n for value, n, _, _ in reasons},
        "done": run.table(name).marker(db.config_hash(name)) is not None,
        "config_hash": db.config_hash(name),
        "extras": stage.status_figures(db),
    }


def run_status(run: RunDir, config: Config) -> dict[str, dict[str, Any]]:
    """Every pipeline stage, then the stages outside it (e.g. `reproduce`) that have a table."""
    db = RunDB(run, config, materialize=True)  # every stage's rows are counted several times
    names = stage_names() + [name for name in extra_stage_names() if run.table(name).parts()]
    return {name: stage_status(run, config, name, db=db) for name in names}
