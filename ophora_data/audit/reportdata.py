"""Everything the audit report shows, as aggregates and samples computed by DuckDB.

At the paper's scale (160K clips) the page cannot hold every clip: the funnel and histograms are
aggregates over all of them, contact sheets hold a stated sample per sheet (spread across videos),
and per-video timelines are compact JSON that the page renders a page at a time. The clip-level
funnel is derived from the decisions themselves (a clip is lost at the first step one of its
reasons names), so its numbers always agree with `tables/decide`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ophora_data.audit.decisions import reason_key, thresholds
from ophora_data.audit.decisionsets import active_decision_set_id, read_decision_set, set_rows_sql
from ophora_data.audit.judge import CHECK_STAGES, REASON_KEY_SQL, bound_text, judged_sql, measured_stages
from ophora_data.audit.reportsample import Sheet, sheets, timelines_json
from ophora_data.config import Bound, Config
from ophora_data.run.db import RunDB
from ophora_data.run.tables import empty_sql, quote_literal
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]
VIDEO_STEPS = (("sources", "ingest"), ("downloaded", "download"), ("transcribed", "transcribe"))
# Clip steps and the stages whose reasons lose a clip at that step (a transcript guard re-judged
# under today's thresholds rejects every clip of its video: it counts with the narration).
CLIP_STEPS = (("captioned", ("segment", "transcribe", "caption")), ("cut", ("cut",)),
              ("kept", ("quality", "score", "privacy")))
BINS = 24


@dataclass
class FunnelStep:
    name: str
    count: int
    unit: str  # "videos" or "clips"
    lost: Counter = field(default_factory=Counter)


@dataclass
class Histogram:
    name: str  # stage.check
    counts: list[int]  # clips per bin: BINS equal bins over [low, high]
    low: float  # bin edges: the values and the bound(s), padded by 5 %
    high: float
    first: float  # the axis labels: the range before padding
    last: float
    bound: Bound
    total: int
    failing: int


@dataclass
class ReportData:
    decision_set_id: str | None
    metadata: dict[str, Any]
    funnel: list[FunnelStep]
    candidates: int
    kept: Sheet
    rejected: list[Sheet]
    histograms: list[Histogram]
    thresholds: dict[str, str]
    timelines: str  # JSON: {"reasons": [...], "videos": [[video_id, duration, [[start, end, code, reason, n]...]]]}


def _video_steps(db: RunDB) -> list[FunnelStep]:
    steps: list[FunnelStep] = []
    previous: set[str] | None = None
    for label, stage in VIDEO_STEPS:
        if not (db.registered(stage) and db.has_rows(stage)) or "video_id" not in db.stage_columns(stage):
            continue
        rows = db.execute(
            f"SELECT video_id, bool_and(status = 'ok'), first(coalesce(nullif(reason, ''), status) "
            f"ORDER BY _part, _row) FILTER (WHERE status IS DISTINCT FROM 'ok') FROM {stage} "
            f"WHERE video_id IS NOT NULL GROUP BY video_id").fetchall()
        ok = {vid for vid, good, _ in rows if good}
        bad = {vid: why for vid, good, why in rows if not good}
        step = FunnelStep(label, len(rows) if previous is None else len(ok & previous), "videos")
        for vid in (set(bad) if previous is None else previous - ok):
            step.lost[reason_key(f"{stage}: {bad[vid]}") if vid in bad else f"{stage}: not processed yet"] += 1
        # Sources count every ingested line; later steps only what survived the step before.
        previous = ok if previous is None else ok & previous
        steps.append(step)
    return steps


def _clip_steps(db: RunDB, decisions: str) -> list[FunnelStep]:
    """Windows, then the clips left after each clip step; each lost clip counts once per
    distinct reason key of the step that lost it."""
    stage_step = ", ".join(f"({quote_literal(s)}, {i})" for i, (_, stages) in enumerate(CLIP_STEPS) for s in stages)
    db.execute(
        f"CREATE OR REPLACE TEMP TABLE _reason_steps AS SELECT clip_id, step, {REASON_KEY_SQL.format(r='r')} AS k "
        f"FROM (SELECT clip_id, r, CASE WHEN starts_with(r, 'missing ') THEN split_part(r, ' ', 2) "
        f"ELSE regexp_extract(r, '^(\\w+)', 1) END AS stage "
        f"FROM (SELECT clip_id, unnest(CAST(reasons AS VARCHAR[])) AS r FROM ({decisions}))) "
        f"JOIN (VALUES {stage_step}) s(stage, step) USING (stage)")
    first = "SELECT clip_id, min(step) AS step FROM _reason_steps GROUP BY clip_id"
    lost_clips = dict(db.execute(f"SELECT step, count(*) FROM ({first}) GROUP BY step").fetchall())
    lost_keys = db.execute(f"SELECT r.step, r.k, count(DISTINCT r.clip_id) FROM _reason_steps r "
                               f"JOIN ({first}) f USING (clip_id, step) GROUP BY r.step, r.k").fetchall()
    remaining = db.scalar(f"SELECT count(*) FROM ({decisions})") or 0
    steps = [FunnelStep("windows", remaining, "clips")]
    for index, (label, _) in enumerate(CLIP_STEPS):
        remaining -= lost_clips.get(index, 0)
        steps.append(FunnelStep(label, remaining, "clips", Counter({k: n for s, k, n in lost_keys if s == index})))
    return steps


def _histograms(db: RunDB, clips: str, bounds: dict[str, Bound]) -> list[Histogram]:
    """Values of every scored (numeric, non-flag) check of the decided clips, binned by DuckDB."""
    selects = [f"SELECT stage || '.' || \"check\" AS name, value FROM ({judged_sql(db, s)}) "
               f"WHERE is_check AND NOT skipped AND value IS NOT NULL AND NOT isnan(value) "
               f"AND op IS DISTINCT FROM '==' AND _k IN (SELECT clip_id FROM ({clips}))"
               for s in measured_stages(db, CHECK_STAGES)]
    if not selects:
        return []
    db.execute(f"CREATE OR REPLACE TEMP TABLE _values AS {' UNION ALL '.join(selects)}")
    out = []
    for name, low, high, total in db.execute(
            "SELECT name, min(value), max(value), count(*) FROM _values GROUP BY name ORDER BY name").fetchall():
        if name not in bounds:
            continue
        bound = bounds[name]
        marks = [v for v in (bound.min, bound.max) if v is not None]
        low, high = min([low, *marks]), max([high, *marks])
        if high == low:
            low, high = low - 0.5, high + 0.5
        pad = (high - low) * 0.05
        low, high = low - pad, high + pad
        bins = dict(db.execute(
            f"SELECT least({BINS - 1}, floor((value - ?) / ? * {BINS}))::INT AS b, count(*) FROM _values "
            f"WHERE name = ? GROUP BY b", [low, high - low, name]).fetchall())
        failing = db.scalar("SELECT count(*) FROM _values WHERE name = ? AND NOT ((? IS NULL OR value >= ?) "
                            "AND (? IS NULL OR value <= ?))", [name, bound.min, bound.min, bound.max, bound.max])
        out.append(Histogram(name, [bins.get(i, 0) for i in range(BINS)], low, high, low + pad, high - pad,
                             bound, total, failing))
    return out


def set_bounds(metadata: dict[str, Any], config: Config) -> dict[str, Bound]:
    """The thresholds the shown decision set used (its metadata), else the config's."""
    recorded = metadata.get("thresholds") or thresholds(config)
    return {name: Bound(**limits) for name, limits in recorded.items()}


def collect(run: RunDir, config: Config, decision_set_id: str | None = None, max_cards: int = 24) -> ReportData:
    """The report's data for the active (or the named) decision set; `max_cards` clips per sheet."""
    db = RunDB(run, config)
    set_id = decision_set_id or active_decision_set_id(db)
    metadata = (read_decision_set(run, set_id) if set_id else None) or {}
    bounds = set_bounds(metadata, config)
    decisions = (set_rows_sql(db, set_id) if set_id and db.has_rows("decide")
                 else empty_sql({"clip_id": "VARCHAR", "video_id": "VARCHAR", "decision": "VARCHAR",
                                 "reasons": "JSON", "reason_keys": "JSON", "subsets": "JSON"}))
    kept, rejected = sheets(db, decisions, bounds, max_cards)
    return ReportData(
        decision_set_id=set_id, metadata=metadata,
        funnel=_video_steps(db) + _clip_steps(db, decisions),
        candidates=db.scalar(f"SELECT count(*) FROM ({decisions})") or 0,
        kept=kept, rejected=rejected, histograms=_histograms(db, decisions, bounds),
        thresholds={name: bound_text(bound) for name, bound in bounds.items()},
        timelines=timelines_json(db, decisions),
    )

