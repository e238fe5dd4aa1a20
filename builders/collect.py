"""Join the stage tables into one record per candidate clip (every current `decide` row)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.tables import Row, first_value, is_check_row, measured_reader, required_rows, rows_by
from ophora_data.config import Config
from ophora_data.run.workdir import RunDir

# Clip-keyed stages whose check rows go into the audit table, in pipeline order.
CHECK_STAGES = ("segment", "caption", "cut", "quality", "score", "privacy")
VERIFICATION_CHECK = "verification"


@dataclass
class Candidate:
    clip_id: str
    video_id: str
    decision: str
    reasons: list[str]
    subsets: list[str]
    decision_set_id: str | None
    instruction: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    captioner: str | None = None
    caption_model: str | None = None
    prompt_version: str | None = None
    start: float | None = None
    end: float | None = None
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    source_url: str | None = None
    media_path: Path | None = None
    privacy_verified: bool = False
    privacy_strict: bool | None = None
    checks: list[Row] = field(default_factory=list)
    scores: dict[str, float | None] = field(default_factory=dict)
    privacy_checks: dict[str, float | None] = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        return self.decision == "kept"


@dataclass(frozen=True)
class ScoreStatus:
    ran: bool
    note: str


@dataclass
class ReleaseInputs:
    candidates: list[Candidate]
    decision_set_id: str
    score_status: ScoreStatus

    @property
    def kept(self) -> list[Candidate]:
        return [c for c in self.candidates if c.kept]

    def subset(self, name: str) -> list[Candidate]:
        return [c for c in self.kept if name in c.subsets]


def clip_sort_key(clip_id: str) -> tuple[str, int, str]:
    """Natural order: `vid_2` before `vid_10` (clip ids are `<video_id>_<n>`)."""
    match = re.match(r"^(.*)_(\d+)$", clip_id)
    return (match.group(1), int(match.group(2)), clip_id) if match else (clip_id, -1, clip_id)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def _decision_set_id(decide: list[Row]) -> str:
    ids = sorted({str(r["decision_set_id"]) for r in decide if r.get("decision_set_id")})
    if len(ids) != 1:
        found = ", ".join(ids) or "none"
        raise ValueError(f"decide rows must carry exactly one decision_set_id (found: {found}); re-run decide")
    return ids[0]


def _is_skip(row: Row) -> bool:
    """A row that records why no score was computed (`skipped: true`, no value)."""
    return bool(row.get("skipped")) or (not is_check_row(row) and "skip" in str(row.get("reason") or "").lower())


def _measured(rows: list[Row]) -> list[Row]:
    return [r for r in rows if is_check_row(r) and not _is_skip(r)]


def score_status(rows: list[Row] | None) -> ScoreStatus:
    if rows is None:
        return ScoreStatus(False, "scoring was not run: the score stage is not installed")
    if not rows:
        return ScoreStatus(False, "scoring was not run: no score rows for the current config")
    skips = [r for r in rows if _is_skip(r)]
    if len(skips) == len(rows):
        reasons = sorted({re.sub(r"^skipped:\s*", "", str(r.get("reason") or "")) or "no reason recorded"
                          for r in skips})
        return ScoreStatus(False, "scoring was skipped: " + "; ".join(reasons))
    note = "clip-text similarity and surgical-content scores were computed"
    if skips:
        note += f" ({len({r.get('clip_id') for r in skips})} clip(s) skipped)"
    return ScoreStatus(True, note)


def _check_entry(stage: str, row: Row) -> Row:
    return {
        "stage": stage,
        "check": str(row["check"]),
        "value": row.get("value"),
        "threshold": row.get("threshold"),
        "threshold_max": row.get("threshold_max"),
        "op": row.get("op"),
        "passed": bool(row.get("passed")),
        "model": row.get("model"),
        "model_revision": row.get("model_revision"),
        "reason": row.get("reason") or "",
    }


def _video_urls(read: Callable[[str], list[Row] | None]) -> dict[str, str | None]:
    urls: dict[str, str | None] = {}
    for name, column in (("ingest", "url"), ("download", "webpage_url")):  # download wins
        for video_id, rows in rows_by(read(name), "video_id").items():
            value = first_value(rows, column)
            if value:
                urls[video_id] = str(value)
    return urls


def collect(run: RunDir, config: Config) -> ReleaseInputs:
    decide = required_rows(run, config, "decide")  # decisions: under the current config hash
    read = measured_reader(run, config)  # measurements: as decide read them
    tables = {name: rows_by(read(name), "clip_id") for name in CHECK_STAGES}
    urls = _video_urls(read)
    candidates = []
    for clip_id, rows in rows_by(decide, "clip_id").items():
        head = rows[0]
        cand = Candidate(
            clip_id=str(clip_id),
            video_id=str(head.get("video_id") or ""),
            decision=str(head.get("decision") or "rejected"),
            reasons=_as_list(head.get("reasons")),
            subsets=_as_list(head.get("subsets")),
            decision_set_id=head.get("decision_set_id"),
        )
        _fill(cand, {name: table.get(clip_id, []) for name, table in tables.items()}, run)
        cand.source_url = urls.get(cand.video_id)
        candidates.append(cand)
    candidates.sort(key=lambda c: clip_sort_key(c.clip_id))
    return ReleaseInputs(candidates, _decision_set_id(decide), score_status(read("score")))


def _fill(cand: Candidate, rows: dict[str, list[Row]], run: RunDir) -> None:
    segment, caption, cut, privacy = rows["segment"], rows["caption"], rows["cut"], rows["privacy"]
    cand.video_id = cand.video_id or str(first_value(segment + cut, "video_id") or "")
    cand.instruction = first_value(caption, "instruction")
    cand.attributes = dict(first_value(caption, "attributes") or {})
    cand.captioner = first_value(caption, "captioner")
    cand.caption_model = first_value(caption, "model")
    cand.prompt_version = first_value(caption, "prompt_version")
    for name in ("start", "end"):
        setattr(cand, name, first_value(cut, name) if first_value(cut, name) is not None
                else first_value(segment, name))
    cand.duration_s = first_value(cut, "duration_s") or first_value(segment, "duration_s")
    cand.fps = first_value(cut, "fps")
    cand.width = first_value(cut, "width")
    cand.height = first_value(cut, "height")
    redacted = first_value(privacy, "redacted_path")
    if redacted:
        cand.media_path = run.resolve(str(redacted))
    cand.privacy_strict = first_value(privacy, "privacy_strict")
    verifications = [r for r in privacy if r.get("check") == VERIFICATION_CHECK]
    cand.privacy_verified = bool(verifications) and all(bool(r.get("passed")) for r in verifications)
    for stage in CHECK_STAGES:
        cand.checks.extend(_check_entry(stage, r) for r in _measured(rows[stage]))
    cand.scores = {r["check"]: r.get("value") for r in _measured(rows["score"])}
    cand.privacy_checks = {r["check"]: r.get("value") for r in _measured(privacy)}
