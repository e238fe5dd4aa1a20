"""`audit explain CLIP_ID`: everything the run knows about one clip, as one JSON-able dict.

Source video and time span, de-identified narration, instruction and attributes, every
check (stored value, current threshold, pass), the decision and its reasons, the privacy
result and the clip's files.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from ophora_data.audit.decisionsets import active_decision_set_id, set_rows_sql
from ophora_data.audit.judge import DECISION_STAGES, VIDEO_CHECK_STAGES, judged_sql, measured_stages
from ophora_data.config import Config
from ophora_data.run.db import RunDB
from ophora_data.run.tables import decode_arrow, quote_ident, quote_literal
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]
# Bookkeeping columns every row has; left out of the per-stage details.
_PLUMBING = {"clip_id", "video_id", "config_hash", "updated_at", "retryable", "_part", "status", "reason"}


class UnknownClip(KeyError):
    """No candidate window has this clip id."""


def _first(rows: list[Row] | None) -> Row:
    return (rows or [{}])[0]


def _check(row: Row) -> dict[str, Any]:
    """One judged check row (see `judge.judged_sql`) as explain shows it."""
    threshold = row.get("threshold_text")
    if threshold is None:
        # A Bound the stage chose itself (not in config): show what it stored; no limit at all = "none".
        stored = row.get("threshold")
        threshold = f"{row.get('op')} {stored}" if row.get("op") and stored is not None else "none"
    skipped = bool(row.get("skipped"))
    passed = True if skipped else bool(row.get("passed_now"))
    reason = "" if skipped or passed else row.get("reason_now") or ""
    return {
        "stage": row["stage"], "check": row["check"], "value": row.get("value"), "threshold": threshold,
        "passed": passed, "skipped": skipped, "reason": reason or row.get("reason") or "",
        "model": row.get("model"), "model_revision": row.get("model_revision"),
    }


def _details(rows: list[Row] | None) -> list[Row]:
    return [{k: v for k, v in r.items() if k not in _PLUMBING and v is not None}
            | {"status": r.get("status"), "reason": r.get("reason") or ""}
            for r in rows or [] if not r.get("check")]


def _file(run: RunDir, value: str | Path | None) -> dict[str, Any] | None:
    path = run.resolve(value)
    return None if path is None else {"path": str(path), "exists": path.is_file()}


def _rows(db: RunDB, stage: str, column: str, value: str) -> list[Row] | None:
    """Current rows of `stage` where `column` = value; None when the stage has no table."""
    if not (db.registered(stage) and db.has_rows(stage)) or column not in db.stage_columns(stage):
        return None
    return decode_arrow(db.current(stage, where=f"{quote_ident(column)} = {quote_literal(value)}"))


def _checks(db: RunDB, clip_id: str, video_id: str | None) -> list[dict[str, Any]]:
    """Every check row of the clip (and its video's guards), judged under today's thresholds."""
    selects = []
    for stage in measured_stages(db):
        key = video_id if stage in VIDEO_CHECK_STAGES else clip_id
        if key is None:
            continue
        selects.append(f"SELECT * FROM ({judged_sql(db, stage)}) WHERE _k = {quote_literal(key)} AND is_check")
    if not selects:
        return []
    rows = db.rows(" UNION ALL BY NAME ".join(selects) + " ORDER BY stage_order, _part, _row")
    return [_check(row) for row in rows]


def explain(run: RunDir, config: Config, clip_id: str, decision_set_id: str | None = None) -> dict[str, Any]:
    db = RunDB(run, config)
    segment_rows = _rows(db, "segment", "clip_id", clip_id)
    if not segment_rows:
        close = _close_ids(db, clip_id)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownClip(f"no candidate clip {clip_id!r} in {run.root}{hint}")
    segment = _first(segment_rows)
    video_id = segment.get("video_id")
    stage_rows = {stage: _rows(db, stage, "clip_id", clip_id) for stage in DECISION_STAGES
                  if stage not in VIDEO_CHECK_STAGES}
    by_video = {s: _first(_rows(db, s, "video_id", str(video_id)) if video_id else None)
                for s in ("ingest", "download", "probe", "transcribe")}
    transcribe_rows = _rows(db, "transcribe", "video_id", str(video_id)) if video_id else None
    caption = _first([r for r in stage_rows.get("caption") or [] if not r.get("check")])
    set_id = decision_set_id or active_decision_set_id(db)
    decision = _rows_of_set(db, set_id, clip_id) if set_id else None
    cut, privacy = _first(stage_rows.get("cut")), _first(stage_rows.get("privacy"))
    verification = next((r for r in stage_rows.get("privacy") or [] if r.get("check") == "verification"), {})
    return {
        "clip_id": clip_id,
        "video_id": video_id,
        "source": {"url": by_video["ingest"].get("url") or by_video["download"].get("webpage_url"),
                   "local_path": by_video["ingest"].get("local_path"),
                   **{k: by_video["download"].get(k) for k in ("title", "channel", "license")},
                   "duration_s": by_video["probe"].get("duration_s")},
        "span": {k: segment.get(k) for k in ("start", "end", "duration_s")},
        "window": {"status": segment.get("status"), "reason": segment.get("reason") or ""},
        "narration": segment.get("narration"),
        "instruction": caption.get("instruction"),
        "attributes": caption.get("attributes"),
        "caption": {k: caption.get(k) for k in ("captioner", "model", "prompt_version", "schema_version")},
        "checks": _checks(db, clip_id, video_id),
        "stages": {stage: _details(stage_rows.get(stage)) for stage in DECISION_STAGES
                   if stage not in VIDEO_CHECK_STAGES} | {"transcribe": _details(transcribe_rows)},
        "narration_issues": _narration_issues(transcribe_rows, segment.get("start"), segment.get("end")),
        "decision": None if decision is None else {
            k: decision.get(k) for k in ("decision", "reasons", "subsets", "decision_set_id")},
        "redaction": {key: privacy.get(key) for key in ("redacted_path", "privacy_strict", "mode", "boxes_path")}
        | {"verified": verification.get("passed"), "verification_reason": verification.get("reason")},
        "files": {"source": _file(run, by_video["probe"].get("path") or run.raw_video(str(video_id))),
                  "transcript": _file(run, by_video["transcribe"].get("transcript_path")),
                  "clip": _file(run, cut.get("path") or run.clip(clip_id)),
                  "redacted": _file(run, privacy.get("redacted_path"))},
    }


def _narration_issues(rows: list[Row] | None, start: Any, end: Any) -> dict[str, Any]:
    """What transcribe dropped or repaired in the video's narration (its `segment_issues`), the
    issues overlapping this clip's span listed, the rest counted: the narration the clip lost, and why."""
    issues = [issue for row in rows or [] for issue in row.get("segment_issues") or [] if isinstance(issue, dict)]
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return {"in_span": [], "in_video": len(issues)}

    def overlaps(issue: dict[str, Any]) -> bool:
        a, b = issue.get("start"), issue.get("end")
        return isinstance(a, int | float) and isinstance(b, int | float) and a < end and b > start

    return {"in_span": [issue for issue in issues if overlaps(issue)], "in_video": len(issues)}


def _rows_of_set(db: RunDB, set_id: str, clip_id: str) -> Row | None:
    if not db.has_rows("decide"):
        return None
    rows = db.rows(f"SELECT * FROM ({set_rows_sql(db, set_id)}) WHERE clip_id = {quote_literal(clip_id)}")
    return rows[0] if rows else None


def _close_ids(db: RunDB, clip_id: str) -> list[str]:
    """Up to 5 candidate clip ids close to a mistyped one (same video first, then edit distance)."""
    if not db.has_rows("segment"):
        return []
    video = clip_id.rsplit("_", 1)[0]
    rows = db.execute(
        "SELECT DISTINCT clip_id FROM segment WHERE clip_id IS NOT NULL "
        "ORDER BY (clip_id LIKE ? || '_%') DESC, levenshtein(clip_id, ?) LIMIT 5", [video, clip_id]).fetchall()
    return [row[0] for row in rows if difflib.SequenceMatcher(None, row[0], clip_id).ratio() >= 0.6]


def format_explain(info: dict[str, Any]) -> str:
    """A readable multi-line view of `explain`'s dict (the CLI's default output)."""
    span, decision = info["span"], info["decision"] or {}
    lines = [f"clip {info['clip_id']}  (video {info['video_id']})",
             f"  source:      {info['source'].get('url') or info['source'].get('local_path') or '?'}",
             f"  span:        {span.get('start')} - {span.get('end')} s ({span.get('duration_s')} s)",
             f"  window:      {info['window']['status']} {info['window']['reason']}".rstrip(),
             f"  narration:   {info['narration'] or ''}",
             f"  instruction: {info['instruction'] or '(none)'}",
             f"  attributes:  {info['attributes'] or {}}",
             f"  caption:     {', '.join(f'{k}={v}' for k, v in info['caption'].items() if v) or '(none)'}",
             "  checks:"]
    for check in info["checks"]:
        mark = "skip" if check["skipped"] else ("pass" if check["passed"] else "FAIL")
        model = f"  [{check['model']}@{check['model_revision'] or '?'}]" if check["model"] else ""
        lines.append(f"    {mark:4}  {check['stage']}.{check['check']} = {check['value']}  "
                     f"(threshold {check['threshold']}){model}")
    lines.append(f"  decision:    {decision.get('decision', '(not decided yet: run decide)')}"
                 f"  [set {decision.get('decision_set_id', '-')}]")
    lines += [f"    - {reason}" for reason in decision.get("reasons") or []]
    lines.append(f"  subsets:     {', '.join(decision.get('subsets') or []) or '-'}")
    issues = info.get("narration_issues") or {}
    if issues.get("in_video"):
        lines.append(f"  narration:   {issues['in_video']} segment(s) of the video dropped or repaired by transcribe; "
                     f"{len(issues['in_span'])} in this span:")
        lines += [f"    - {i.get('action')} ({i.get('kind')}) {i.get('start')}-{i.get('end')} s: "
                  f"{i.get('detail') or ''} {repr(i['text']) if i.get('text') else ''}".rstrip()
                  for i in issues["in_span"]]
    lines.append(f"  redaction:   {', '.join(f'{k}={v}' for k, v in info['redaction'].items()) or '-'}")
    lines.append("  files:")
    for name, entry in info["files"].items():
        if entry:
            lines.append(f"    {name:10} {entry['path']}{'' if entry['exists'] else '  (missing)'}")
    return "\n".join(lines)
