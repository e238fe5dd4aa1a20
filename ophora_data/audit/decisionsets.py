"""Decision sets: what one `decide` saw, what it recorded, how to read sets back.

A decision set id is a hash of everything that determines the decisions: the thresholds, the
decide section, the config hashes of the measured tables and the code version. Its metadata
lives in `decisions/<decision_set_id>.json` (with `activated_at`: when a decide or refilter last
made it the run's decisions); its rows in `tables/decide` (column `decision_set_id`), written
once: re-deciding to a set that exists costs no rows, and a new set costs one part.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ophora_data
from ophora_data.audit.decisions import decision_counts, thresholds
from ophora_data.audit.judge import CHECK_STAGES, measured_stages
from ophora_data.config import stable_hash
from ophora_data.run.atomic import atomic_write_json
from ophora_data.run.db import RunDB
from ophora_data.run.tables import decode_arrow, now_iso, quote_ident, quote_literal
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]


def decisions_dir(run: RunDir) -> Path:
    return run.root / "decisions"


def measured_hashes(db: RunDB) -> dict[str, str]:
    """Config hashes of the tables a decision reads (segment and the decision stages with rows)."""
    stages = [s for s in ("segment",) if db.registered(s) and db.has_rows(s)] + measured_stages(db)
    return {stage: db.config_hash(stage) for stage in stages}


def decision_set_id(db: RunDB) -> str:
    """The id of the decision set that `db.config` decides to."""
    config = db.config
    return stable_hash({
        "thresholds": thresholds(config),
        "decide": config.decide.model_dump(mode="json"),
        "measured": measured_hashes(db),
        "code": ophora_data.__version__,
    })


def set_rows_sql(db: RunDB, set_id: str) -> str:
    """SQL of one decision set's rows (the newest row per clip within the set)."""
    view = quote_ident("decide_all")
    db.ensure("decide")
    return (f"SELECT * FROM {view} WHERE decision_set_id = {quote_literal(set_id)} "
            f"QUALIFY _part = max(_part) OVER (PARTITION BY clip_id)")


def _models(db: RunDB) -> list[dict[str, Any]]:
    """Which model (and revision) measured which checks, from the current check rows."""
    selects = []
    for stage in [s for s in measured_stages(db, CHECK_STAGES)]:
        present = db.columns(stage)
        if not {"check", "model"} <= set(present):
            continue
        revision = "model_revision" if "model_revision" in present else "NULL"
        skipped = "AND NOT coalesce(skipped::BOOLEAN, false)" if "skipped" in present else ""
        selects.append(f"SELECT {quote_literal(stage)} AS stage, model::VARCHAR AS model, "
                       f"{revision}::VARCHAR AS revision, \"check\"::VARCHAR AS c FROM {quote_ident(stage)} "
                       f"WHERE coalesce(\"check\" <> '', false) AND model IS NOT NULL AND model <> '' {skipped}")
    if not selects:
        return []
    rows = db.execute(f"SELECT stage, model, revision, list(DISTINCT c ORDER BY c) FROM "
                          f"({' UNION ALL '.join(selects)}) GROUP BY stage, model, revision "
                          f"ORDER BY stage, model, coalesce(revision, 'None')").fetchall()
    return [{"stage": s, "model": m, "model_revision": r, "checks": list(c)} for s, m, r, c in rows]


def _prompts(db: RunDB) -> list[dict[str, Any]]:
    """Captioner, model, prompt and schema versions of the current caption rows."""
    if "caption" not in measured_stages(db, ("caption",)):
        return []
    present = db.columns("caption")
    names = ("prompt_version", "captioner", "model", "schema_version")
    cols = ", ".join(f"{quote_ident(c)}::VARCHAR" if c in present else "NULL::VARCHAR" for c in names)
    where = "WHERE NOT coalesce(\"check\" <> '', false)" if "check" in present else ""
    rows = db.execute(f"SELECT DISTINCT {cols} FROM {quote_ident('caption')} {where}").fetchall()
    rows.sort(key=lambda k: [str(x) for x in k])
    return [dict(zip(names, row, strict=True)) for row in rows]


def write_decision_set(db: RunDB, set_id: str) -> Path:
    """Write (or re-activate) `decisions/<set_id>.json` with thresholds, versions and counts."""
    path = decisions_dir(db.run) / f"{set_id}.json"
    previous = read_decision_set(db.run, set_id) or {}
    config = db.config
    metadata = {
        "decision_set_id": set_id,
        "created_at": previous.get("created_at") or now_iso(),
        "activated_at": now_iso("microseconds"),  # a decide and a refilter within one second must still order
        "code_version": ophora_data.__version__,
        "recipe": config.recipe,
        "thresholds": thresholds(config),
        "decide": config.decide.model_dump(mode="json"),
        "measured_config_hashes": measured_hashes(db),
        "models": _models(db),
        "prompts": _prompts(db),
        "counts": decision_counts(db, set_rows_sql(db, set_id)),
    }
    return atomic_write_json(path, metadata)


def activate(run: RunDir, set_id: str) -> None:
    """Make an existing decision set the run's newest (e.g. a refilter back to earlier thresholds)."""
    metadata = read_decision_set(run, set_id)
    if metadata is not None:
        atomic_write_json(decisions_dir(run) / f"{set_id}.json", {**metadata, "activated_at": now_iso("microseconds")})


def read_decision_set(run: RunDir, set_id: str) -> dict[str, Any] | None:
    path = decisions_dir(run) / f"{set_id}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def decision_set_ids(run: RunDir) -> list[str]:
    """Every decision set of the run with rows, oldest activation first."""
    folder = decisions_dir(run)
    sets: list[tuple[str, str]] = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        sets.append((str(meta.get("activated_at") or meta.get("created_at") or ""), path.stem))
    return [set_id for _, set_id in sorted(sets)]


def load_decisions(run: RunDir, set_id: str | None = None, db: RunDB | None = None) -> dict[str, Row]:
    """Decision rows by clip id (Python dicts): of one set, or of the newest set when none is named.
    For one clip or a few; whole-run comparisons use SQL (`set_rows_sql`)."""
    if set_id is None:
        ids = decision_set_ids(run)
        if not ids:
            return {}
        set_id = ids[-1]
    db = db or RunDB(run)
    if not db.has_rows("decide"):
        return {}
    rows = decode_arrow(db.arrow(set_rows_sql(db, set_id) + " ORDER BY clip_id"))
    return {row["clip_id"]: row for row in rows}


def active_decision_set_id(db: RunDB) -> str | None:
    """The set the config decides to when it has been written, else the newest set."""
    ids = decision_set_ids(db.run)
    own = decision_set_id(db)
    if own in ids:
        return own
    return ids[-1] if ids else None
