"""`status` for a reproduction: the `reproduce` stage in the same JSON shape as pipeline stages.

`run/status.py` walks the registry's PIPELINE, which `reproduce` is not part of; `cli status` adds
this entry when the run has a `reproduce` table.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ophora_data.config import Config
from ophora_data.run.tables import group_by, key_status
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import current_status
from ophora_data.stages.registry import stage_config_hash
from ophora_data.stages.reproduce import ReproduceStage


def reproduce_status(run: RunDir, config: Config, top: int = 10) -> dict[str, dict[str, Any]]:
    """{"reproduce": {ok, rejected, failed, pending, reasons, done, config_hash, extras}} or {} when the
    run never reproduced anything. Check rows are re-judged under today's bounds."""
    table = run.table(ReproduceStage.name)
    if not table.parts():
        return {}
    config_hash = stage_config_hash(ReproduceStage, config)
    rows = table.current(ReproduceStage.work_key(), config_hash)
    judged = [{**row, "status": current_status(ReproduceStage.name, row, config)} for row in rows]
    counts = Counter(key_status(key_rows) for key_rows in group_by(judged, "clip_id").values())
    reasons = Counter(r.get("reason") or "?" for r in judged if r["status"] != "ok")
    stage = ReproduceStage(config, run)
    pending = len({r["clip_id"] for r in stage.records} - {r.get("clip_id") for r in rows})
    return {ReproduceStage.name: {
        "ok": counts.get("ok", 0), "rejected": counts.get("rejected", 0), "failed": counts.get("failed", 0),
        "pending": pending, "reasons": dict(reasons.most_common(top)),
        "done": table.marker(config_hash) is not None, "config_hash": config_hash,
        "extras": stage.status_extras(rows),
    }}
