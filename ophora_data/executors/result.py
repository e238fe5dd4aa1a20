"""What one stage run did: counts by status and by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ophora_data.run.tables import connect, group_by, key_status, quote_ident


@dataclass
class StageResult:
    stage: str
    config_hash: str
    pending: int = 0
    processed: int = 0
    skipped_done: int = 0
    status_counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    failed_by_type: Counter = field(default_factory=Counter)

    def add(self, rows: list[dict[str, Any]], identity: Callable[[dict[str, Any]], Any]) -> None:
        for rows_of_key in group_by(rows, identity).values():
            self.status_counts[key_status(rows_of_key)] += 1
        for row in rows:
            if row["status"] != "ok":
                self.reasons[row["status"] + ": " + (row.get("reason") or "?")] += 1
            if row["status"] == "failed" and row.get("error_type"):
                self.failed_by_type[row["error_type"]] += 1

    def add_arrow(self, rows: pa.Table, key: str) -> None:
        """`add` for an Arrow table of rows (set-based stages), counted by DuckDB."""
        con = connect()
        con.register("_rows", rows)
        statuses = con.execute(
            f"SELECT CASE WHEN bool_or(status = 'failed') THEN 'failed' WHEN bool_or(status = 'rejected') "
            f"THEN 'rejected' ELSE 'ok' END FROM _rows GROUP BY {quote_ident(key)}").fetchall()
        self.status_counts.update(status for (status,) in statuses)
        reasons = con.execute("SELECT status || ': ' || coalesce(nullif(reason, ''), '?'), count(*) FROM _rows "
                              "WHERE status <> 'ok' GROUP BY 1").fetchall()
        self.reasons.update(dict(reasons))

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "config_hash": self.config_hash,
            "pending": self.pending,
            "processed": self.processed,
            "skipped_done": self.skipped_done,
            "ok": self.status_counts.get("ok", 0),
            "rejected": self.status_counts.get("rejected", 0),
            "failed": self.status_counts.get("failed", 0),
            "reasons": dict(self.reasons.most_common()),
            "failed_by_type": dict(self.failed_by_type),
        }
