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

from ophora_data.audit.decisions import CHECK_STAGES
from ophora_data.audit.decisionsets import DecisionEvidence, active_decision_set_id
from ophora_data.config import Config
from ophora_data.run.db import connect
from ophora_data.run.workdir import RunDir


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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def audit_connection(run: RunDir, config: Config) -> duckdb.DuckDBPyConnection:
    con = connect(run, config)
    evidence = DecisionEvidence.load(run, config)
    existing = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    checks = [f"SELECT '{s}' AS stage, * FROM {_quote(s)} WHERE \"check\" IS NOT NULL"
              for s in CHECK_STAGES if s in existing and _has_columns(con, s, ("check",))]
    if checks:
        con.execute("CREATE VIEW checks AS " + " UNION ALL BY NAME ".join(checks))
    set_id = active_decision_set_id(run, evidence)
    if set_id and "decide_all" in existing:
        con.execute("CREATE VIEW decisions AS SELECT * FROM decide_all WHERE decision_set_id = "
                    f"'{set_id}' QUALIFY _part = max(_part) OVER (PARTITION BY clip_id)")
    return con


def _has_columns(con: duckdb.DuckDBPyConnection, view: str, columns: tuple[str, ...]) -> bool:
    names = {row[0] for row in con.execute(f"DESCRIBE {_quote(view)}").fetchall()}
    return set(columns) <= names


def run_query(run: RunDir, config: Config, sql: str) -> QueryResult:
    con = audit_connection(run, config)
    try:
        cursor = con.execute(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip()) from None
    if cursor.description is None:
        return QueryResult([], [])
    return QueryResult([d[0] for d in cursor.description], cursor.fetchall())
