"""Everything the audit report shows, gathered from the run's tables into plain data.

The clip-level funnel is derived from the decisions themselves (a clip is lost at the first
stage one of its reasons names), so its numbers always agree with `tables/decide`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ophora_data.audit.decisions import CHECK_STAGES, bound_text, numeric, reason_key, thresholds
from ophora_data.audit.decisionsets import (
    DecisionEvidence,
    active_decision_set_id,
    load_decisions,
    read_decision_set,
)
from ophora_data.config import Bound, Config
from ophora_data.run.tables import group_by, key_status
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]
VIDEO_STEPS = (("sources", "ingest"), ("downloaded", "download"), ("transcribed", "transcribe"))
# Clip steps and the stages whose reasons lose a clip at that step.
CLIP_STEPS = (("captioned", ("segment", "caption")), ("cut", ("cut",)),
              ("kept", ("quality", "score", "privacy")))


@dataclass
class FunnelStep:
    name: str
    count: int
    unit: str  # "videos" or "clips"
    lost: Counter = field(default_factory=Counter)


@dataclass
class ClipInfo:
    clip_id: str
    video_id: str
    start: float | None
    end: float | None
    instruction: str
    decision: str
    reasons: list[str]
    subsets: list[str]
    scores: dict[str, float]
    segment_ok: bool
    thumb_source: tuple[Path, float] | None = None  # (file, seconds into it)

    @property
    def primary_reason(self) -> str:
        return reason_key(self.reasons[0]) if self.reasons else ""


@dataclass
class Histogram:
    name: str  # stage.check
    values: list[float]
    bound: Any  # ophora_data.config.Bound
    failing: int


@dataclass
class ReportData:
    decision_set_id: str | None
    metadata: dict[str, Any]
    funnel: list[FunnelStep]
    clips: list[ClipInfo]
    histograms: list[Histogram]
    video_durations: dict[str, float]
    thresholds: dict[str, str]


def reason_stage(reason: str) -> str:
    if reason.startswith("missing "):
        return reason.split(" ", 1)[1]
    match = re.match(r"^(\w+)", reason)
    return match.group(1) if match else ""


def _video_steps(tables: Any) -> list[FunnelStep]:
    steps: list[FunnelStep] = []
    previous: set[str] | None = None
    for label, stage in VIDEO_STEPS:
        rows = tables.rows(stage)
        if rows is None:
            continue
        groups = group_by(rows, "video_id")
        ok = {vid for vid, vrows in groups.items() if key_status(vrows) == "ok"}
        step = FunnelStep(label, len(groups) if previous is None else len(ok & previous), "videos")
        for vid in (set(groups) if previous is None else previous):
            if vid in ok:
                continue
            bad = [r for r in groups.get(vid, []) if r.get("status") != "ok"]
            step.lost[reason_key(f"{stage}: {bad[0].get('reason') or bad[0]['status']}") if bad
                      else f"{stage}: not processed yet"] += 1
        # Sources count every ingested line; later steps only what survived the step before.
        previous = ok if previous is None else ok & previous
        steps.append(step)
    return steps


def _clip_steps(decisions: dict[str, Row]) -> list[FunnelStep]:
    steps = [FunnelStep("windows", len(decisions), "clips")]
    remaining = set(decisions)
    for label, stages in CLIP_STEPS:
        step = FunnelStep(label, 0, "clips")
        for clip_id in sorted(remaining):
            here = [r for r in decisions[clip_id].get("reasons") or [] if reason_stage(r) in stages]
            if here:
                step.lost.update({reason_key(r) for r in here})
                remaining.discard(clip_id)
        step.count = len(remaining)
        steps.append(step)
    return steps


def _thumb_source(run: RunDir, clip_id: str, video_id: str, segment: Row,
                  stage_rows: dict[str, list[Row] | None]) -> tuple[Path, float] | None:
    """Redacted clip, else cut clip, else the source video at the window's midpoint."""
    start, end = numeric(segment.get("start")) or 0.0, numeric(segment.get("end")) or 0.0
    candidates = [r.get("redacted_path") for r in stage_rows.get("privacy") or []]
    candidates += [r.get("path") for r in stage_rows.get("cut") or []] + [str(run.clip(clip_id))]
    for value in candidates:
        path = run.resolve(value)
        if path is not None and path.is_file():
            return path, max(0.0, (end - start) / 2)
    raw = run.raw_video(video_id)
    return (raw, (start + end) / 2) if raw.is_file() else None


def _clip_info(run: RunDir, clip_id: str, row: Row, evidence: DecisionEvidence) -> ClipInfo:
    segment = evidence.segment.get(clip_id, [{}])[0]
    stage_rows = evidence.for_clip(clip_id)
    captions = [r for r in stage_rows.get("caption") or [] if not r.get("check")]
    scores = {f"{stage}.{r['check']}": float(r["value"]) for stage in CHECK_STAGES
              for r in stage_rows.get(stage) or []
              if r.get("check") and not r.get("skipped") and r.get("op") != "=="  # "==": a pass/fail flag
              and numeric(r.get("value")) is not None}
    video_id = str(row.get("video_id") or segment.get("video_id") or "")
    return ClipInfo(
        clip_id=clip_id, video_id=video_id,
        start=numeric(segment.get("start")), end=numeric(segment.get("end")),
        instruction=str((captions[0].get("instruction") if captions else None)
                        or segment.get("narration") or ""),
        decision=str(row.get("decision")), reasons=list(row.get("reasons") or []),
        subsets=list(row.get("subsets") or []), scores=scores, segment_ok=segment.get("status") == "ok",
        thumb_source=_thumb_source(run, clip_id, video_id, segment, stage_rows),
    )


def _histograms(clips: list[ClipInfo], bounds: dict[str, Bound]) -> list[Histogram]:
    values: dict[str, list[float]] = {}
    for clip in clips:
        for name, value in clip.scores.items():
            values.setdefault(name, []).append(value)
    return [Histogram(name, vals, bounds[name], sum(not bounds[name].accepts(v) for v in vals))
            for name, vals in sorted(values.items()) if name in bounds]


def set_bounds(metadata: dict[str, Any], config: Config) -> dict[str, Bound]:
    """The thresholds the shown decision set used (its metadata), else the config's."""
    recorded = metadata.get("thresholds") or thresholds(config)
    return {name: Bound(**limits) for name, limits in recorded.items()}


def collect(run: RunDir, config: Config, decision_set_id: str | None = None) -> ReportData:
    evidence = DecisionEvidence.load(run, config)
    set_id = decision_set_id or active_decision_set_id(run, evidence)
    decisions = load_decisions(run, set_id) if set_id else {}
    metadata = (read_decision_set(run, set_id) if set_id else None) or {}
    clips = [_clip_info(run, cid, row, evidence) for cid, row in sorted(decisions.items())]
    durations: dict[str, float] = {}
    for row in evidence.tables.rows("probe") or []:
        if numeric(row.get("duration_s")):
            durations[str(row["video_id"])] = float(row["duration_s"])
    for clip in clips:
        durations[clip.video_id] = max(durations.get(clip.video_id, 0.0), clip.end or 0.0)
    bounds = set_bounds(metadata, config)
    return ReportData(
        decision_set_id=set_id, metadata=metadata,
        funnel=_video_steps(evidence.tables) + _clip_steps(decisions), clips=clips,
        histograms=_histograms(clips, bounds), video_durations=durations,
        thresholds={name: bound_text(bound) for name, bound in bounds.items()},
    )
