"""`status`: per stage ok / rejected / failed / pending and the top reasons.

The JSON form is stable: {stage: {ok, rejected, failed, pending, reasons: {reason: count},
done, config_hash, extras}}; `pending` is null when it cannot be known (e.g. ingest).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ophora_data.config import Config
from ophora_data.run.tables import group_by, key_status
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import get_stage, stage_config_hash, stage_names


def stage_status(run: RunDir, config: Config, name: str, top: int = 10) -> dict[str, Any]:
    cls = get_stage(name)
    config_hash = stage_config_hash(cls, config)
    rows = run.table(name).current(cls.work_key(), config_hash)
    by_key = group_by(rows, cls.row_identity)
    counts = Counter(key_status(key_rows) for key_rows in by_key.values())
    reasons = Counter(r.get("reason") or "?" for r in rows if r.get("status") != "ok")
    stage = cls(config, run)
    pending: int | None = None
    if cls.needs:
        try:
            work_key = cls.work_key()
            started = {row.get(work_key) for row in rows}
            pending = sum(1 for item in stage.items() if item[work_key] not in started)
        except Exception:  # noqa: BLE001 - status must work even when a stage's inputs are odd
            pending = None
    return {
        "ok": counts.get("ok", 0),
        "rejected": counts.get("rejected", 0),
        "failed": counts.get("failed", 0),
        "pending": pending,
        "reasons": dict(reasons.most_common(top)),
        "done": run.table(name).marker(config_hash) is not None,
        "config_hash": config_hash,
        "extras": stage.status_extras(rows),
    }


def run_status(run: RunDir, config: Config) -> dict[str, dict[str, Any]]:
    return {name: stage_status(run, config, name) for name in stage_names()}
