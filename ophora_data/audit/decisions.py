"""Pure decision logic: one clip's rows from every check-writing stage + config -> a decision.

Numeric check rows are re-evaluated against the Bound at `config.<stage>.<check>`, so a
threshold changed with `--set` re-decides without recomputing anything; other rows count
by their stored `passed`/status. Every failing reason is kept, in pipeline order.

Reason strings have stable prefixes so they group well (`reason_key`):
`missing <stage>`, `<stage> failed: ...`, `<stage>.<check> <value> not <bound>`,
`<stage>: <stored reason>` (e.g. `segment: window too short`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ophora_data.config import Bound, Config
from ophora_data.stages.base import config_bound, numeric

Row = dict[str, Any]

# Stages whose rows can reject a clip, in pipeline order: video-level guards (a clip inherits its
# video's transcript checks), then clip-level checks.
VIDEO_CHECK_STAGES: tuple[str, ...] = ("transcribe",)
CHECK_STAGES: tuple[str, ...] = ("caption", "cut", "quality", "score", "privacy")
DECISION_STAGES: tuple[str, ...] = (*VIDEO_CHECK_STAGES, *CHECK_STAGES)
KEPT, REJECTED = "kept", "rejected"
SUBSET_DEFAULT, SUBSET_STRICT = "default", "strict"


@dataclass
class Decision:
    clip_id: str
    video_id: str | None
    reasons: list[str] = field(default_factory=list)
    subsets: list[str] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return not self.reasons

    @property
    def decision(self) -> str:
        return KEPT if self.kept else REJECTED

    def row(self, decision_set_id: str) -> Row:
        return {
            "clip_id": self.clip_id,
            "video_id": self.video_id,
            "status": "ok" if self.kept else "rejected",
            "reason": "; ".join(self.reasons),
            "decision": self.decision,
            "reasons": list(self.reasons),
            "reason_keys": [reason_key(r) for r in self.reasons],
            "subsets": list(self.subsets),
            "decision_set_id": decision_set_id,
        }


def bound_text(bound: Bound) -> str:
    if bound.op == "between":
        return f"[{bound.min:g}, {bound.max:g}]"
    return f"{bound.op} {bound.threshold:g}" if bound.threshold is not None else "(no bound)"


def evaluate_check(stage: str, row: Row, config: Config) -> tuple[bool, str]:
    """(passed, reason) of one check row under the config's current bound."""
    check = row["check"]
    bound = config_bound(config, stage, check)
    value = numeric(row.get("value"))
    if bound is not None and value is not None:
        if bound.accepts(value):
            return True, ""
        return False, f"{stage}.{check} {value:.4g} not {bound_text(bound)}"
    passed = row.get("passed")
    if passed is None:
        passed = row.get("status") == "ok"
    return bool(passed), "" if passed else f"{stage}.{check}: {row.get('reason') or 'failed'}"


def stage_reasons(stage: str, rows: list[Row], config: Config, required: bool) -> list[str]:
    """Failing reasons one stage contributes for one clip."""
    rows = [r for r in rows if not r.get("skipped")]
    reasons: list[str] = []
    if not rows:
        return [f"missing {stage}"] if required else []
    failed = [r for r in rows if r.get("status") == "failed"]
    if failed:
        reasons.append(f"{stage} failed: {failed[0].get('reason') or 'error'}")
    ignored = set(config.decide.ignore_checks)
    for row in rows:
        if row.get("status") == "failed":
            continue
        if row.get("check"):
            if row["check"] in ignored:
                continue
            passed, reason = evaluate_check(stage, row, config)
        else:
            passed = row.get("status") == "ok"
            reason = f"{stage}: {row.get('reason') or 'rejected'}"
        if not passed and reason not in reasons:
            reasons.append(reason)
    if required and len(failed) == len(rows):
        reasons.insert(0, f"missing {stage}")
    return reasons


def is_strict(privacy_rows: list[Row]) -> bool:
    """Strict subset: privacy says no face or text was ever detected (and nothing says otherwise)."""
    flags = [r.get("privacy_strict") for r in privacy_rows if r.get("privacy_strict") is not None]
    return bool(flags) and all(bool(flag) for flag in flags)


def decide_clip(segment_rows: list[Row], stage_rows: dict[str, list[Row] | None], config: Config) -> Decision:
    """The decision for one candidate window.

    `stage_rows[stage]` is None when the run has no table for that stage (it then
    contributes nothing, unless listed in `config.decide.required_stages`).
    """
    first = segment_rows[0]
    decision = Decision(clip_id=first["clip_id"], video_id=first.get("video_id"))
    bad = [r for r in segment_rows if r.get("status") != "ok"]
    if bad:
        decision.reasons = [f"segment: {bad[0].get('reason') or bad[0].get('status')}"]
        return decision
    required = set(config.decide.required_stages)
    for stage in DECISION_STAGES:
        rows = stage_rows.get(stage)
        if rows is None and stage not in required:
            continue
        decision.reasons.extend(stage_reasons(stage, rows or [], config, stage in required))
    if decision.kept:
        decision.subsets = [SUBSET_DEFAULT]
        if is_strict(stage_rows.get("privacy") or []):
            decision.subsets.append(SUBSET_STRICT)
    return decision


_NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")
_CHECK = re.compile(r"^(\w+\.\w+):? ")
_FAILED = re.compile(r"^(\w+) failed\b")


def reason_key(reason: str) -> str:
    """A reason without its per-clip details (values, ids), for counting clips by reason."""
    for pattern in (_CHECK, _FAILED):
        match = pattern.match(reason)
        if match:
            return match.group(0).rstrip(": ")
    return _NUMBER.sub("#", reason)[:120]


def thresholds(config: Config, stages: tuple[str, ...] = DECISION_STAGES) -> dict[str, dict[str, float | None]]:
    """Every Bound of the check stages' sections: {'score.clip_text_similarity': {min, max}}."""
    out: dict[str, dict[str, float | None]] = {}
    for stage in stages:
        section = getattr(config, stage, None)
        if section is None:
            continue
        for name in type(section).model_fields:
            value = getattr(section, name)
            if isinstance(value, Bound):
                out[f"{stage}.{name}"] = {"min": value.min, "max": value.max}
    return out
