"""Per-batch work shared by every executor: run a batch safely, turn its results into rows.

Both executors (`local`, `ray_executor`) import this module; it imports neither, so the
dependency between executors runs one way (local -> ray, lazily, when `run.executor=ray`).
"""

from __future__ import annotations

import traceback

import pyarrow as pa

from ophora_data.run.secrets import redact
from ophora_data.run.tables import connect, now_iso
from ophora_data.stages.base import Row, Stage


def failure_row(stage: type[Stage], item: Row, exc: BaseException) -> Row:
    message = redact(f"{type(exc).__name__}: {exc}".strip())
    return {
        stage.key: item.get(stage.key),
        stage.work_key(): item.get(stage.work_key()),
        "status": "failed",
        "reason": message[:500],
        "error_type": type(exc).__name__,
        "retryable": True,
    }


def safe_process_batch(stage: Stage, items: list[Row]) -> list[list[Row]]:
    """A bad item never stops the stage: a failing batch is retried item by item."""
    try:
        return stage.process_batch(items)
    except Exception:
        results = []
        for item in items:
            try:
                results.append(stage.process(item))
            except Exception as exc:  # noqa: BLE001 - every error becomes a failed row
                traceback.clear_frames(exc.__traceback__)
                results.append([failure_row(type(stage), item, exc)])
        return results


def normalise(stage: type[Stage], item: Row, rows: list[Row], config_hash: str) -> list[Row]:
    if not rows:
        rows = [{"status": "failed", "reason": "stage produced no row", "retryable": True}]
    out = []
    for row in rows:
        row = dict(row)
        row.setdefault(stage.key, item.get(stage.key))
        row.setdefault(stage.work_key(), item.get(stage.work_key()))
        if row.get("status") not in ("ok", "rejected", "failed"):
            row["reason"] = f"invalid status {row.get('status')!r}; {row.get('reason', '')}"
            row["status"] = "failed"
        row["reason"] = redact(str(row.get("reason") or ""))
        row.setdefault("retryable", row["status"] == "failed")
        row["config_hash"] = config_hash
        row["updated_at"] = now_iso()
        out.append(row)
    return out


def stamp(rows: pa.Table, config_hash: str) -> pa.Table:
    """`normalise` for an Arrow table of rows (set-based stages): the bookkeeping columns the
    executor adds to every row (`config_hash`, `updated_at`, and `retryable` when absent).
    Raises ValueError when a row's status is not ok/rejected/failed. Done in DuckDB: building
    Arrow arrays from Python values would import pandas (about a second) in every command."""
    if "status" not in rows.column_names:
        raise ValueError("set-based stage rows need a status column")
    con = connect()
    con.register("_rows", rows)
    bad = con.execute("SELECT count(*) FROM _rows WHERE status IS NULL OR status NOT IN ('ok', 'rejected', 'failed')"
                      ).fetchall()[0][0]
    if bad:
        raise ValueError(f"set-based stage wrote {bad} row(s) with a status outside ok/rejected/failed")
    replaced = [c for c in ("config_hash", "updated_at", "retryable") if c in rows.column_names]
    exclude = f" EXCLUDE ({', '.join(replaced)})" if replaced else ""
    retryable = "retryable" if "retryable" in rows.column_names else "status = 'failed'"
    return con.sql(f"SELECT *{exclude}, $hash AS config_hash, $now AS updated_at, {retryable} AS retryable "
                   f"FROM _rows", params={"hash": config_hash, "now": now_iso()}).to_arrow_table()
