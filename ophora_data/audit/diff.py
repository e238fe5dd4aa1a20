"""`audit diff A B`: clips gained and lost between two decision sets (or two run dirs), by reason.

A and B are decision-set ids of one run dir, or two run dirs (each then contributes its
newest decision set, or `dir@decision_set_id` for a named one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ophora_data.audit.decisionsets import decision_set_ids, load_decisions
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]


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


def _keys(row: Row) -> list[str]:
    return list(row.get("reason_keys") or row.get("reasons") or [])


def compare(a: dict[str, Row], b: dict[str, Row], a_name: str = "A", b_name: str = "B") -> DecisionDiff:
    diff = DecisionDiff(a_name, b_name)
    diff.a_kept = sum(r.get("decision") == "kept" for r in a.values())
    diff.b_kept = sum(r.get("decision") == "kept" for r in b.values())
    diff.only_a = sorted(set(a) - set(b))
    diff.only_b = sorted(set(b) - set(a))
    for clip_id in sorted(set(a) & set(b)):
        was, now = a[clip_id].get("decision"), b[clip_id].get("decision")
        if was == "rejected" and now == "kept":
            diff.gained.append(clip_id)
            diff.gained_by_reason.update(_keys(a[clip_id]))
        elif was == "kept" and now == "rejected":
            diff.lost.append(clip_id)
            diff.lost_by_reason.update(_keys(b[clip_id]))
    return diff


def resolve(spec: str, run: RunDir | None) -> tuple[str, dict[str, Row]]:
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
        return f"{other.root}@{chosen}", load_decisions(other, chosen)
    if run is None:
        raise DiffError(f"{spec!r} is not a run directory; give -w to name decision sets of one run")
    ids = decision_set_ids(run)
    matches = [i for i in ids if i.startswith(spec)] if spec else []
    if len(matches) != 1:
        known = ", ".join(ids) or "none"
        what = "is ambiguous" if matches else "is not a decision set"
        raise DiffError(f"{spec!r} {what} in {run.root}; sets: {known}")
    return matches[0], load_decisions(run, matches[0])


def diff_specs(a: str, b: str, run: RunDir | None) -> DecisionDiff:
    a_name, a_rows = resolve(a, run)
    b_name, b_rows = resolve(b, run)
    return compare(a_rows, b_rows, a_name, b_name)
