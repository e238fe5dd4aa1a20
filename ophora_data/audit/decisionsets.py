"""Decision sets: what one `decide` saw (evidence), what it recorded (metadata), how to read them back.

A decision set id is a hash of everything that determines the decisions: the thresholds,
the decide section, the hashes of the measured rows and the code version. Its metadata
lives in `decisions/<decision_set_id>.json`; its rows in `tables/decide` (column
`decision_set_id`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ophora_data
from ophora_data.audit.decisions import CHECK_STAGES, VIDEO_CHECK_STAGES, decide_clip, reason_key, thresholds
from ophora_data.audit.measured import MeasuredTables
from ophora_data.config import Config, stable_hash
from ophora_data.run.atomic import atomic_write_json
from ophora_data.run.tables import PART_COLUMN, group_by, now_iso
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]


def decisions_dir(run: RunDir) -> Path:
    return run.root / "decisions"


@dataclass
class DecisionEvidence:
    """Every row decide needs, grouped by clip, read once."""

    tables: MeasuredTables
    segment: dict[str, list[Row]]
    by_stage: dict[str, dict[str, list[Row]] | None]
    by_video_stage: dict[str, dict[str, list[Row]] | None] = field(default_factory=dict)
    decision_set_id: str = ""
    config: Config | None = field(default=None, repr=False)

    @classmethod
    def load(cls, run: RunDir, config: Config) -> DecisionEvidence:
        tables = MeasuredTables(run, config)
        segment = {k: v for k, v in group_by(tables.rows("segment") or [], "clip_id").items() if k}
        by_stage: dict[str, dict[str, list[Row]] | None] = {}
        for stage in CHECK_STAGES:
            rows = tables.rows(stage)
            by_stage[stage] = None if rows is None else group_by(rows, "clip_id")
        by_video_stage: dict[str, dict[str, list[Row]] | None] = {}
        for stage in VIDEO_CHECK_STAGES:
            rows = tables.rows(stage)
            by_video_stage[stage] = None if rows is None else group_by(rows, "video_id")
        evidence = cls(tables, segment, by_stage, by_video_stage, config=config)
        evidence.decision_set_id = stable_hash({
            "thresholds": thresholds(config),
            "decide": config.decide.model_dump(mode="json"),
            "measured": tables.hashes,
            "code": ophora_data.__version__,
        })
        return evidence

    def for_clip(self, clip_id: str) -> dict[str, list[Row] | None]:
        video_id = (self.segment.get(clip_id) or [{}])[0].get("video_id")
        clip_level = {stage: None if rows is None else rows.get(clip_id, []) for stage, rows in self.by_stage.items()}
        video_level = {stage: None if rows is None else rows.get(video_id, [])
                       for stage, rows in self.by_video_stage.items()}
        return {**video_level, **clip_level}

    def all_rows(self, stage: str) -> list[Row]:
        return [row for rows in (self.by_stage.get(stage) or {}).values() for row in rows]


def _models(evidence: DecisionEvidence) -> list[dict[str, Any]]:
    seen: dict[tuple, set[str]] = {}
    for stage in CHECK_STAGES:
        for row in evidence.all_rows(stage):
            if row.get("check") and row.get("model") and not row.get("skipped"):
                key = (stage, row["model"], row.get("model_revision"))
                seen.setdefault(key, set()).add(str(row.get("check") or stage))
    return [{"stage": s, "model": m, "model_revision": r, "checks": sorted(c)}
            for (s, m, r), c in sorted(seen.items(), key=lambda kv: [str(x) for x in kv[0]])]


def _prompts(evidence: DecisionEvidence) -> list[dict[str, Any]]:
    keys = {(r.get("prompt_version"), r.get("captioner"), r.get("model"), r.get("schema_version"))
            for r in evidence.all_rows("caption") if not r.get("check")}
    return [{"prompt_version": p, "captioner": c, "model": m, "schema_version": s}
            for p, c, m, s in sorted(keys, key=lambda k: [str(x) for x in k])]


def decision_set_metadata(config: Config, evidence: DecisionEvidence) -> dict[str, Any]:
    decisions = [decide_clip(rows, evidence.for_clip(clip_id), config)
                 for clip_id, rows in evidence.segment.items()]
    reasons = Counter(reason_key(r) for d in decisions for r in d.reasons)
    return {
        "decision_set_id": evidence.decision_set_id,
        "created_at": now_iso(),
        "code_version": ophora_data.__version__,
        "recipe": config.recipe,
        "thresholds": thresholds(config),
        "decide": config.decide.model_dump(mode="json"),
        "measured_config_hashes": dict(evidence.tables.hashes),
        "models": _models(evidence),
        "prompts": _prompts(evidence),
        "counts": {
            "candidates": len(decisions),
            "kept": sum(d.kept for d in decisions),
            "rejected": sum(not d.kept for d in decisions),
            "strict": sum("strict" in d.subsets for d in decisions),
            "reasons": dict(reasons.most_common()),
        },
    }


def write_decision_set(run: RunDir, config: Config, evidence: DecisionEvidence) -> Path:
    path = decisions_dir(run) / f"{evidence.decision_set_id}.json"
    return atomic_write_json(path, decision_set_metadata(config, evidence))


def read_decision_set(run: RunDir, decision_set_id: str) -> dict[str, Any] | None:
    path = decisions_dir(run) / f"{decision_set_id}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def decision_set_ids(run: RunDir) -> list[str]:
    """Every decision set in the run, oldest first (by when its rows were written)."""
    newest: dict[str, str] = {}
    for row in run.table("decide").all_rows():
        set_id = row.get("decision_set_id")
        if set_id:
            newest[set_id] = max(newest.get(set_id, ""), row[PART_COLUMN])
    return sorted(newest, key=newest.__getitem__)


def load_decisions(run: RunDir, decision_set_id: str | None = None) -> dict[str, Row]:
    """Decision rows by clip id: of one set, or of the newest set when none is named."""
    if decision_set_id is None:
        ids = decision_set_ids(run)
        if not ids:
            return {}
        decision_set_id = ids[-1]
    rows = [r for r in run.table("decide").all_rows() if r.get("decision_set_id") == decision_set_id]
    newest: dict[str, Row] = {}
    for row in rows:
        if row["clip_id"] not in newest or row[PART_COLUMN] >= newest[row["clip_id"]][PART_COLUMN]:
            newest[row["clip_id"]] = row
    return newest


def active_decision_set_id(run: RunDir, evidence: DecisionEvidence) -> str | None:
    """The set the config decides to when it has been written, else the newest set."""
    ids = decision_set_ids(run)
    if evidence.decision_set_id in ids:
        return evidence.decision_set_id
    return ids[-1] if ids else None
