"""Every check row judged under the config's current thresholds, in SQL: the one rule that
`decide`, `refilter`, `audit explain` and the report share.

A numeric check row is re-evaluated against the Bound at `config.<stage>.<check>`; any other row
counts by its stored `passed` (check rows) or `status` (summary rows). Reason strings have stable
prefixes so they group (`reason_key`): `<stage>.<check> <value> not <bound>`,
`<stage>.<check>: <stored reason>`, `<stage>: <stored reason>`, `<stage> failed: <error>`.
"""

from __future__ import annotations

from ophora_data.config import Bound
from ophora_data.run.db import RunDB, _is_numeric
from ophora_data.run.tables import quote_ident, quote_literal

# Stages whose rows can reject a clip, in pipeline order: video-level guards (a clip inherits its
# video's transcript checks), then clip-level checks.
VIDEO_CHECK_STAGES: tuple[str, ...] = ("transcribe",)
CHECK_STAGES: tuple[str, ...] = ("caption", "cut", "quality", "score", "privacy")
DECISION_STAGES: tuple[str, ...] = (*VIDEO_CHECK_STAGES, *CHECK_STAGES)

# `reason_key` in SQL (same patterns; see decisions.reason_key): a reason without per-clip details.
REASON_KEY_SQL = (r"CASE WHEN regexp_matches({r}, '^\w+\.\w+:? ') "
                  r"THEN rtrim(regexp_extract({r}, '^\w+\.\w+:? ', 0), ': ') "
                  r"WHEN regexp_matches({r}, '^\w+ failed\b') THEN regexp_extract({r}, '^\w+ failed\b', 0) "
                  r"ELSE left(regexp_replace({r}, '-?\d+(\.\d+)?(e-?\d+)?', '#', 'g'), 120) END")


def bound_text(bound: Bound) -> str:
    """A Bound as shown in reasons and reports: `>= 720`, `<= 0.5`, `[2, 10]`."""
    if bound.op == "between":
        return f"[{bound.min:g}, {bound.max:g}]"
    return f"{bound.op} {bound.threshold:g}" if bound.threshold is not None else "(no bound)"


def measured_stages(db: RunDB, stages: tuple[str, ...] = DECISION_STAGES) -> list[str]:
    """The stages among `stages` that are installed and have rows in this run."""
    return [s for s in stages if db.registered(s) and db.has_rows(s)]


def judged_sql(db: RunDB, stage: str) -> str:
    """The current rows of one decision stage with their verdicts. Columns:
    stage, stage_order, clip_id or video_id as `_k`, video_id, _part, _row, status, reason, "check",
    value (DOUBLE or NULL), threshold and op (as stored), model, model_revision, privacy_strict,
    skipped, failed, is_check, ignored, passed_now, reason_now (why it fails now, NULL when it passes), failed_reason,
    threshold_text (the current bound, NULL when none)."""
    view = db.ensure(stage)
    present = db.columns(stage)
    key = "video_id" if stage in VIDEO_CHECK_STAGES else "clip_id"

    def col(name: str, default: str = "NULL") -> str:
        return f"_c.{quote_ident(name)}" if name in present else default

    value = ("CAST(_c.value AS DOUBLE)" if "value" in present and _is_numeric(present["value"])
             else "NULL::DOUBLE")
    bounds = db.bounds_sql(stage, bound_text)
    join = f" LEFT JOIN {bounds} ON {col('check')} = _b._check" if bounds and "check" in present else ""
    b = (lambda c: f"_b.{c}") if join else (lambda c: "NULL")
    ignored = ", ".join(quote_literal(c) for c in db.config.decide.ignore_checks) or "NULL"
    status, reason, check = col("status"), col("reason"), col("check")
    name = quote_literal(stage)
    is_check = f"coalesce({check} <> '', false)"
    measured = f"({b('_check')} IS NOT NULL AND {value} IS NOT NULL AND NOT isnan({value}))"
    within = f"(({b('_min')} IS NULL OR {value} >= {b('_min')}) AND ({b('_max')} IS NULL OR {value} <= {b('_max')}))"
    stored_ok = f"coalesce({status} = 'ok', false)"
    passed_now = (f"CASE WHEN {is_check} AND {measured} THEN {within} "
                  f"WHEN {is_check} THEN coalesce({col('passed')}, {stored_ok}) ELSE {stored_ok} END")
    reason_now = (f"CASE WHEN {is_check} AND {measured} THEN {name} || '.' || {check} || ' ' || "
                  f"format('{{:.4g}}', {value}) || ' not ' || {b('_text')} "
                  f"WHEN {is_check} THEN {name} || '.' || {check} || ': ' || coalesce(nullif({reason}, ''), 'failed') "
                  f"ELSE {name} || ': ' || coalesce(nullif({reason}, ''), 'rejected') END")
    return (
        f"SELECT {name} AS stage, {DECISION_STAGES.index(stage)} AS stage_order, {col(key)} AS _k, "
        f"{col('video_id')} AS video_id, _c._part, _c._row, {status} AS status, {reason} AS reason, "
        f"{check} AS \"check\", {value} AS value, {col('threshold')} AS threshold, {col('op')} AS op, "
        f"{col('model')} AS model, "
        f"{col('model_revision')} AS model_revision, {col('privacy_strict')}::BOOLEAN AS privacy_strict, "
        f"coalesce({col('skipped')}::BOOLEAN, false) AS skipped, coalesce({status} = 'failed', false) AS failed, "
        f"{is_check} AS is_check, coalesce({is_check} AND {check} IN ({ignored}), false) AS ignored, "
        f"{passed_now} AS passed_now, CASE WHEN {passed_now} THEN NULL ELSE {reason_now} END AS reason_now, "
        f"{name} || ' failed: ' || coalesce(nullif({reason}, ''), 'error') AS failed_reason, "
        f"{b('_text')} AS threshold_text "
        f"FROM {view} AS _c{join}"
    )
