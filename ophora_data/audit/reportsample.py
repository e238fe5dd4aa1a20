"""The report's per-clip parts at scale: sampled contact sheets and compact per-video timelines.

A sheet shows at most `max_cards` clips, chosen round-robin across videos in a fixed hash order
(the same sample on every run of the report), and states how many it stands for. Timelines
cover every window of every video as compact JSON rendered by the page a page at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ophora_data.audit.decisions import reason_key
from ophora_data.audit.judge import CHECK_STAGES, judged_sql, measured_stages
from ophora_data.config import Bound
from ophora_data.run.db import RunDB
from ophora_data.run.tables import decode_arrow, empty_sql
from ophora_data.stages.base import numeric

Row = dict[str, Any]
KEPT_SHEET = "kept"


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
    thumb_source: tuple[Path, float] | None = None  # (file, seconds into it)

    @property
    def primary_reason(self) -> str:
        return reason_key(self.reasons[0]) if self.reasons else ""


@dataclass
class Sheet:
    """A contact sheet: a sample of the clips of one kind (kept, or rejected for one first reason)."""

    sheet_id: str
    title: str
    total: int
    clips: list[ClipInfo]




def _sampled(db: RunDB, decisions: str, max_cards: int) -> tuple[dict[str, int], pa.Table]:
    """({sheet: clips in it}, the sampled clips' decision rows with their `sheet`)."""
    sheeted = (f"SELECT *, CASE WHEN decision = 'kept' THEN '{KEPT_SHEET}' "
               f"ELSE coalesce(CAST(reason_keys AS VARCHAR[])[1], '?') END AS sheet FROM ({decisions})")
    totals = dict(db.execute(f"SELECT sheet, count(*) FROM ({sheeted}) GROUP BY sheet").fetchall())
    sample = db.arrow(
        f"SELECT * EXCLUDE (_per_video) FROM (SELECT *, row_number() OVER (PARTITION BY sheet, video_id "
        f"ORDER BY hash(clip_id), clip_id) AS _per_video FROM ({sheeted})) "
        f"QUALIFY row_number() OVER (PARTITION BY sheet ORDER BY _per_video, hash(clip_id), clip_id) "
        f"<= {int(max_cards)}")
    return totals, sample


def _first_by_clip(db: RunDB, stage: str, columns: list[str], where: str = "true") -> dict[str, Row]:
    if not (db.registered(stage) and db.has_rows(stage)) or "clip_id" not in db.stage_columns(stage):
        return {}
    table = db.current(stage, ["clip_id", *columns], f"clip_id IN (SELECT clip_id FROM _sample) AND {where}")
    out: dict[str, Row] = {}
    for row in decode_arrow(table):
        out.setdefault(row["clip_id"], row)
    return out


def _scores(db: RunDB) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, float]] = {}
    for stage in measured_stages(db, CHECK_STAGES):
        rows = db.execute(
            f"SELECT _k, stage || '.' || \"check\", value FROM ({judged_sql(db, stage)}) WHERE is_check "
            f"AND NOT skipped AND value IS NOT NULL AND NOT isnan(value) AND op IS DISTINCT FROM '==' "
            f"AND _k IN (SELECT clip_id FROM _sample) ORDER BY _part, _row").fetchall()
        for clip_id, name, value in rows:
            scores.setdefault(clip_id, {})[name] = float(value)
    return scores


def _thumb_source(db: RunDB, clip_id: str, video_id: str, segment: Row, paths: list[str | None]
                  ) -> tuple[Path, float] | None:
    """Redacted clip, else cut clip, else the source video at the window's midpoint."""
    run = db.run
    start, end = numeric(segment.get("start")) or 0.0, numeric(segment.get("end")) or 0.0
    for value in [*paths, str(run.clip(clip_id))]:
        path = run.resolve(value)
        if path is not None and path.is_file():
            return path, max(0.0, (end - start) / 2)
    raw = run.raw_video(video_id)
    return (raw, (start + end) / 2) if raw.is_file() else None


def sheets(db: RunDB, decisions: str, bounds: dict[str, Bound], max_cards: int) -> tuple[Sheet, list[Sheet]]:
    """The kept sheet and one sheet per first rejection reason (largest first), each a sample."""
    totals, sample = _sampled(db, decisions, max_cards)
    db.con.register("_sample", sample.select(["clip_id"]))
    try:
        segment = _first_by_clip(db, "segment", ["start", "end", "narration"])
        caption = _first_by_clip(db, "caption", ["instruction"],
                                 "NOT coalesce(\"check\" <> '', false)" if "check" in db.stage_columns("caption")
                                 else "true") if db.registered("caption") else {}
        cut = _first_by_clip(db, "cut", ["path"])
        privacy = _first_by_clip(db, "privacy", ["redacted_path"])
        scores = _scores(db)
    finally:
        db.con.unregister("_sample")
    by_sheet: dict[str, list[ClipInfo]] = {}
    for row in decode_arrow(sample):
        clip_id, video_id = row["clip_id"], str(row.get("video_id") or "")
        seg = segment.get(clip_id, {})
        paths = [privacy.get(clip_id, {}).get("redacted_path"), cut.get(clip_id, {}).get("path")]
        by_sheet.setdefault(row["sheet"], []).append(ClipInfo(
            clip_id=clip_id, video_id=video_id, start=numeric(seg.get("start")), end=numeric(seg.get("end")),
            instruction=str(caption.get(clip_id, {}).get("instruction") or seg.get("narration") or ""),
            decision=str(row.get("decision")), reasons=list(row.get("reasons") or []),
            subsets=list(row.get("subsets") or []), scores=scores.get(clip_id, {}),
            thumb_source=_thumb_source(db, clip_id, video_id, seg, paths)))
    for clips in by_sheet.values():
        clips.sort(key=lambda c: _natural(c.clip_id))
    kept = Sheet(KEPT_SHEET, "Kept clips", totals.get(KEPT_SHEET, 0), by_sheet.get(KEPT_SHEET, []))
    reasons = sorted((r for r in totals if r != KEPT_SHEET), key=lambda r: (-totals[r], r))
    rejected = [Sheet(f"rejected-{i}", reason, totals[reason], by_sheet.get(reason, []))
                for i, reason in enumerate(reasons)]
    return kept, rejected


def _natural(clip_id: str) -> tuple[str, int, str]:
    head, _, tail = clip_id.rpartition("_")
    return (head, int(tail), clip_id) if tail.isdigit() else (clip_id, -1, clip_id)


def timelines_json(db: RunDB, decisions: str) -> str:
    """Every window of every video: {"reasons": [first reason keys], "videos": [[video_id,
    duration_s, [[start_s, end_s, code, reason index or -1, clip suffix], ...]], ...]}.

    code: 0 kept, 1 rejected, 2 window rejected by segment. The clip id is `<video_id>_<suffix>`
    when it has that form, else the suffix is `!` + the whole clip id. `<` is escaped, so the JSON can
    sit inside a <script> element.
    """
    has_segment = db.registered("segment") and db.has_rows("segment")
    durations = ("(SELECT video_id, max(duration_s) AS d FROM probe GROUP BY video_id)"
                 if db.registered("probe") and db.has_rows("probe") and "duration_s" in db.stage_columns("probe")
                 else f"({empty_sql({'video_id': 'VARCHAR', 'd': 'DOUBLE'})})")
    spans = ("(SELECT clip_id, first(start ORDER BY _part, _row) AS s, first(\"end\" ORDER BY _part, _row) AS e, "
             "bool_and(status = 'ok') AS ok FROM segment GROUP BY clip_id)" if has_segment else
             f"({empty_sql({'clip_id': 'VARCHAR', 's': 'DOUBLE', 'e': 'DOUBLE', 'ok': 'BOOLEAN'})})")
    windows = (f"SELECT d.clip_id, d.video_id, round(sp.s, 2) AS s, round(sp.e, 2) AS e, "
               f"CASE WHEN d.decision = 'kept' THEN 0 WHEN sp.ok IS DISTINCT FROM false THEN 1 ELSE 2 END AS code, "
               f"CAST(d.reason_keys AS VARCHAR[])[1] AS rk FROM ({decisions}) d LEFT JOIN {spans} sp USING (clip_id) "
               f"WHERE sp.s IS NOT NULL AND sp.e IS NOT NULL")
    reasons = [r[0] for r in db.execute(
        f"SELECT DISTINCT rk FROM ({windows}) WHERE rk IS NOT NULL ORDER BY rk").fetchall()]
    index = (f"(SELECT rk, CAST(dense_rank() OVER (ORDER BY rk) - 1 AS INT) AS ri "
             f"FROM (SELECT DISTINCT rk FROM ({windows}) WHERE rk IS NOT NULL))")
    rows = db.execute(
        f"SELECT w.video_id, greatest(coalesce(max(du.d), 0), max(w.e)), "
        f"'[' || string_agg('[' || w.s || ',' || w.e || ',' || w.code || ',' || coalesce(ri.ri, -1) || ',' || "
        f"to_json(CASE WHEN starts_with(w.clip_id, w.video_id || '_') "
        f"THEN substr(w.clip_id, length(w.video_id) + 2) ELSE '!' || w.clip_id END) || ']', ',' "
        f"ORDER BY w.s, w.clip_id) || ']' "
        f"FROM ({windows}) w LEFT JOIN {index} ri USING (rk) LEFT JOIN {durations} du USING (video_id) "
        f"GROUP BY w.video_id ORDER BY w.video_id").fetchall()
    videos = ",".join(f"[{json.dumps(vid)},{round(float(duration or 0.0), 2)},{wins}]" for vid, duration, wins in rows)
    return (f'{{"reasons":{json.dumps(reasons)},"videos":[{videos}]}}').replace("<", "\\u003c")
