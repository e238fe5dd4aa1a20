"""`audit query "SQL"`: DuckDB over the run's Parquet tables, in place.

Views (from `ophora_data.run.db`, plus two here):
  <stage>_all   every row the stage ever wrote (the audit trail), column `_part` = its part file
  <stage>       the current rows: newest part per work item under the stage's config hash
                (thresholds are not part of it, so rows stay current after a threshold change)
  checks        every current check row of caption/cut/quality/score/privacy, with a `stage` column
  decisions     the active decision set's rows (`decide` rows of that decision_set_id)
List and dict columns (reasons, subsets, attributes) are JSON text: use DuckDB's json functions.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import duckdb

from ophora_data.audit.decisionsets import active_decision_set_id, set_rows_sql
from ophora_data.audit.judge import CHECK_STAGES
from ophora_data.config import Config
from ophora_data.run.db import RunDB
from ophora_data.run.tables import empty_sql, quote_ident
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import CHECK_COLUMNS


class QueryError(ValueError):
    """The SQL did not run (the message is DuckDB's)."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()

    def to_json(self) -> str:
        return json.dumps(self.records(), default=str, indent=2)


def audit_connection(run: RunDir, config: Config) -> duckdb.DuckDBPyConnection:
    """Every stage's views, plus `checks` and `decisions` (empty, with their columns, when the run
    has none yet)."""
    db = RunDB(run, config)
    db.ensure_all()
    checks = [f"SELECT '{s}' AS stage, * FROM {quote_ident(s)} WHERE \"check\" IS NOT NULL"
              for s in CHECK_STAGES if db.registered(s) and db.has_rows(s) and "check" in db.columns(s)]
    empty_checks = empty_sql(dict.fromkeys(("stage", "clip_id", "video_id", "status", "reason", *CHECK_COLUMNS),
                                           "VARCHAR"))
    db.execute("CREATE VIEW checks AS " + (" UNION ALL BY NAME ".join(checks) if checks else empty_checks))
    set_id = active_decision_set_id(db)
    decisions = (set_rows_sql(db, set_id) if set_id and db.has_rows("decide") else
                 "SELECT * FROM decide WHERE false")
    db.execute(f"CREATE VIEW decisions AS {decisions}")
    return db.con


def run_query(run: RunDir, config: Config, sql: str) -> QueryResult:
    con = audit_connection(run, config)
    try:
        cursor = con.execute(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip()) from None
    if cursor.description is None:
        return QueryResult([], [])
    return QueryResult([d[0] for d in cursor.description], cursor.fetchall())
