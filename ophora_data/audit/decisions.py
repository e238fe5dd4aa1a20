"""Decisions in SQL: every candidate window's check rows + the config -> kept or rejected, with
every failing reason in pipeline order, in one DuckDB query over the current views.

Per clip: a rejected window (segment) gives only its own reason. Otherwise each decision stage
(`judge.DECISION_STAGES`, video-level guards first) contributes, in row order: `missing <stage>`
when the stage is required and has no usable row (no row, or only failed rows); the first failed
row's error (`<stage> failed: ...`); then each distinct failing check or summary row. Skipped rows
(e.g. scoring without weights) do not count. A stage with no table in the run contributes nothing
unless `decide.required_stages` lists it. Kept clips are in subset `default`, and in `strict` when
privacy recorded `privacy_strict` true on every row that has it.

Reason strings have stable prefixes so they group well (`reason_key`):
`missing <stage>`, `<stage> failed: ...`, `<stage>.<check> <value> not <bound>`,
`<stage>: <stored reason>` (e.g. `segment: window too short`).
"""

from __future__ import annotations

import re
from typing import Any

from ophora_data.audit.judge import (
    DECISION_STAGES,
    REASON_KEY_SQL,
    VIDEO_CHECK_STAGES,
    judged_sql,
    measured_stages,
)
from ophora_data.config import Bound, Config
from ophora_data.run.db import RunDB
from ophora_data.run.tables import quote_literal

KEPT, REJECTED = "kept", "rejected"
SUBSET_DEFAULT, SUBSET_STRICT = "default", "strict"
DECISION_COLUMNS = ("clip_id", "video_id", "status", "reason", "decision", "reasons", "reason_keys", "subsets",
                    "decision_set_id")


def _stage_reasons_sql(db: RunDB, stage: str, required: bool) -> str:
    """Per key (`_k`): the list of reasons one stage contributes (`_reasons`), from its rows."""
    missing = f"[{quote_literal('missing ' + stage)}]" if required else "[]::VARCHAR[]"
    return f"""
    WITH j AS (SELECT *, row_number() OVER (PARTITION BY _k ORDER BY _part, _row) AS _pos
               FROM ({judged_sql(db, stage)}) WHERE NOT skipped AND _k IS NOT NULL),
    agg AS (SELECT _k, count(*) AS n, count(*) FILTER (WHERE failed) AS n_failed,
                   first(failed_reason ORDER BY _pos) FILTER (WHERE failed) AS first_failed
            FROM j GROUP BY _k),
    fails AS (SELECT _k, list(reason_now ORDER BY pos) AS failing
              FROM (SELECT _k, reason_now, min(_pos) AS pos FROM j
                    WHERE NOT failed AND NOT ignored AND NOT passed_now GROUP BY _k, reason_now)
              GROUP BY _k)
    SELECT agg._k,
      list_concat(CASE WHEN n_failed = n THEN {missing} ELSE []::VARCHAR[] END,
                  CASE WHEN n_failed > 0 THEN [first_failed] ELSE []::VARCHAR[] END,
                  coalesce(failing, []::VARCHAR[])) AS _reasons
    FROM agg LEFT JOIN fails ON agg._k = fails._k"""


def decisions_sql(db: RunDB, decision_set_id: str, clips: str | None = None) -> str:
    """SQL of one decision row per candidate window (columns `DECISION_COLUMNS`).

    `clips`: a relation with a `clip_id` column limiting which windows are decided (all when None).
    """
    config = db.config
    required = set(config.decide.required_stages)
    present = set(measured_stages(db))
    segment = db.ensure("segment")
    windows = (f"SELECT clip_id, first(video_id ORDER BY _part, _row) AS video_id, "
               f"first(CASE WHEN status IS DISTINCT FROM 'ok' THEN 'segment: ' || "
               f"coalesce(nullif(reason, ''), status, 'None') END ORDER BY _part, _row) "
               f"FILTER (WHERE status IS DISTINCT FROM 'ok') AS segment_reason "
               f"FROM {segment} WHERE clip_id IS NOT NULL"
               + (f" AND clip_id IN (SELECT clip_id FROM {clips})" if clips else "") + " GROUP BY clip_id")
    joins, lists = [], []
    for index, stage in enumerate(DECISION_STAGES):
        alias = f"_s{index}"
        if stage in present:
            on = "w.video_id" if stage in VIDEO_CHECK_STAGES else "w.clip_id"
            joins.append(f"LEFT JOIN ({_stage_reasons_sql(db, stage, stage in required)}) {alias} "
                         f"ON {alias}._k = {on}")
            empty = f"[{quote_literal('missing ' + stage)}]" if stage in required else "[]::VARCHAR[]"
            lists.append(f"coalesce({alias}._reasons, {empty})")
        elif stage in required:
            lists.append(f"[{quote_literal('missing ' + stage)}]")
    strict = "false"
    if "privacy" in present and "privacy_strict" in db.columns("privacy"):
        joins.append(f"LEFT JOIN (SELECT _k, bool_and(privacy_strict) AS strict "
                     f"FROM ({judged_sql(db, 'privacy')}) GROUP BY _k) _strict ON _strict._k = w.clip_id")
        strict = "coalesce(_strict.strict, false)"
    reasons = ("CASE WHEN w.segment_reason IS NOT NULL THEN [w.segment_reason] ELSE "
               f"list_concat({', '.join(lists) or '[]::VARCHAR[]'}, []::VARCHAR[]) END")
    reason_key = REASON_KEY_SQL.format(r="x")
    return f"""
    SELECT clip_id, video_id, CASE WHEN len(reasons) = 0 THEN 'ok' ELSE 'rejected' END AS status,
           array_to_string(reasons, '; ') AS reason,
           CASE WHEN len(reasons) = 0 THEN '{KEPT}' ELSE '{REJECTED}' END AS decision,
           to_json(reasons) AS reasons, to_json(list_transform(reasons, lambda x: {reason_key})) AS reason_keys,
           to_json(CASE WHEN len(reasons) > 0 THEN []::VARCHAR[]
                        WHEN strict THEN ['{SUBSET_DEFAULT}', '{SUBSET_STRICT}'] ELSE ['{SUBSET_DEFAULT}'] END)
             AS subsets,
           {quote_literal(decision_set_id)} AS decision_set_id
    FROM (SELECT w.clip_id, w.video_id, {reasons} AS reasons, {strict} AS strict
          FROM ({windows}) w {' '.join(joins)})
    ORDER BY clip_id"""


_NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")
_CHECK = re.compile(r"^(\w+\.\w+):? ")
_FAILED = re.compile(r"^(\w+) failed\b")


def reason_key(reason: str) -> str:
    """A reason without its per-clip details (values, ids), for counting clips by reason
    (`judge.REASON_KEY_SQL` is the same rule in SQL)."""
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


def decision_counts(db: RunDB, rows_sql: str) -> dict[str, Any]:
    """Candidates, kept, rejected, strict and clips per reason key of a set of decision rows."""
    total, kept, strict = db.execute(
        f"SELECT count(*), count(*) FILTER (WHERE decision = '{KEPT}'), "
        f"count(*) FILTER (WHERE list_contains(CAST(subsets AS VARCHAR[]), '{SUBSET_STRICT}')) "
        f"FROM ({rows_sql})").fetchall()[0]
    reasons = db.execute(
        f"SELECT k, count(*) AS n FROM (SELECT unnest(CAST(reason_keys AS VARCHAR[])) AS k FROM ({rows_sql})) "
        f"GROUP BY k ORDER BY n DESC, k").fetchall()
    return {"candidates": total, "kept": kept, "rejected": total - kept, "strict": strict,
            "reasons": dict(reasons)}
