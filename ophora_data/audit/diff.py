"""`audit diff A B`: clips gained and lost between two decision sets (or two run dirs), by reason.

A and B are decision-set ids of one run dir, or two run dirs (each then contributes its
newest decision set, or `dir@decision_set_id` for a named one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ophora_data.audit.decisionsets import decision_set_ids, set_rows_sql
from ophora_data.run.db import RunDB
from ophora_data.run.tables import connect
from ophora_data.run.workdir import RunDir


class DiffError(ValueError):
    """A or B does not name a decision set."""


@dataclass
class DecisionDiff:
    a: str
    b: str
    a_kept: int = 0
    b_kept: int = 0
    gained: list[str] = field(default_factory=list)  # rejected in A, kept in B
    lost: list[str] = field(default_factory=list)  # kept in A, rejected in B
    only_a: list[str] = field(default_factory=list)  # candidates B does not have
    only_b: list[str] = field(default_factory=list)
    gained_by_reason: Counter = field(default_factory=Counter)  # A's reasons that no longer apply
    lost_by_reason: Counter = field(default_factory=Counter)  # B's reasons for dropping them

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "a_kept": self.a_kept, "b_kept": self.b_kept,
            "gained": self.gained, "lost": self.lost, "only_a": self.only_a, "only_b": self.only_b,
            "gained_by_reason": dict(self.gained_by_reason.most_common()),
            "lost_by_reason": dict(self.lost_by_reason.most_common()),
        }


def compare(a: pa.Table, b: pa.Table, a_name: str = "A", b_name: str = "B") -> DecisionDiff:
    """Compare two decision sets given as Arrow tables of (clip_id, decision, reason_keys), in SQL."""
    con = connect()
    con.register("a", a)
    con.register("b", b)
    diff = DecisionDiff(a_name, b_name)
    diff.a_kept, diff.b_kept = con.execute(
        "SELECT (SELECT count(*) FROM a WHERE decision = 'kept'), (SELECT count(*) FROM b WHERE decision = 'kept')"
    ).fetchall()[0]

    def ids(sql: str) -> list[str]:
        return [row[0] for row in con.execute(sql + " ORDER BY 1").fetchall()]

    diff.only_a = ids("SELECT clip_id FROM a ANTI JOIN b USING (clip_id)")
    diff.only_b = ids("SELECT clip_id FROM b ANTI JOIN a USING (clip_id)")
    flips = ("SELECT a.clip_id, a.reason_keys AS ka, b.reason_keys AS kb FROM a JOIN b USING (clip_id) "
             "WHERE a.decision = '{was}' AND b.decision = '{now}'")
    gained, lost = flips.format(was="rejected", now="kept"), flips.format(was="kept", now="rejected")
    diff.gained = ids(f"SELECT clip_id FROM ({gained})")
    diff.lost = ids(f"SELECT clip_id FROM ({lost})")
    for target, sql, column in ((diff.gained_by_reason, gained, "ka"), (diff.lost_by_reason, lost, "kb")):
        target.update(dict(con.execute(f"SELECT k, count(*) FROM (SELECT unnest(CAST({column} AS VARCHAR[])) AS k "
                                       f"FROM ({sql})) GROUP BY k").fetchall()))
    return diff


def set_table(run: RunDir, set_id: str, db: RunDB | None = None) -> pa.Table:
    """(clip_id, decision, reason_keys) of one decision set, as Arrow."""
    db = db or RunDB(run)
    if not db.has_rows("decide"):
        return pa.table({"clip_id": pa.array([], pa.string()), "decision": pa.array([], pa.string()),
                         "reason_keys": pa.array([], pa.string())})
    keys = "reason_keys" if "reason_keys" in db.stage_columns("decide") else "reasons"
    return db.arrow(f"SELECT clip_id, decision, {keys}::VARCHAR AS reason_keys FROM ({set_rows_sql(db, set_id)})")


def resolve(spec: str, run: RunDir | None) -> tuple[str, pa.Table]:
    """A decision-set id (in `run`), a run dir, or `run_dir@decision_set_id`."""
    path_part, _, set_id = spec.partition("@")
    if Path(path_part).expanduser().is_dir():
        other = RunDir(path_part)
        ids = decision_set_ids(other)
        if not ids:
            raise DiffError(f"{spec}: no decisions in that run dir (run `decide` there first)")
        chosen = set_id or ids[-1]
        if chosen not in ids:
            raise DiffError(f"{spec}: no decision set {chosen!r} there; sets: {', '.join(ids)}")
        return f"{other.root}@{chosen}", set_table(other, chosen)
    if run is None:
        raise DiffError(f"{spec!r} is not a run directory; give -w to name decision sets of one run")
    ids = decision_set_ids(run)
    matches = [i for i in ids if i.startswith(spec)] if spec else []
    if len(matches) != 1:
        known = ", ".join(ids) or "none"
        what = "is ambiguous" if matches else "is not a decision set"
        raise DiffError(f"{spec!r} {what} in {run.root}; sets: {known}")
    return matches[0], set_table(run, matches[0])


def diff_specs(a: str, b: str, run: RunDir | None) -> DecisionDiff:
    a_name, a_rows = resolve(a, run)
    b_name, b_rows = resolve(b, run)
    return compare(a_rows, b_rows, a_name, b_name)
