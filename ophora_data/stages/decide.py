"""`decide`: one decision per candidate window from all its checks and the config's thresholds.

Items are every `segment` window (ok or rejected). The check-writing stages' rows are read
once (`MeasuredTables`: stored values stay usable when only thresholds changed), and each
clip is decided by the pure logic in `ophora_data.audit.decisions`. The decision set's
thresholds, model names/revisions, prompt versions and code version are written to
`decisions/<decision_set_id>.json`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ophora_data.audit.decisions import DECISION_STAGES, decide_clip
from ophora_data.audit.decisionsets import DecisionEvidence, write_decision_set
from ophora_data.run.tables import group_by
from ophora_data.stages.base import Row, Stage


class DecideStage(Stage):
    name: ClassVar[str] = "decide"
    needs: ClassVar[tuple[str, ...]] = ("segment", *DECISION_STAGES)
    key: ClassVar[str] = "clip_id"
    # The check stages' sections hold the thresholds decide applies.
    config_sections: ClassVar[tuple[str, ...]] = ("decide", *DECISION_STAGES)
    version: ClassVar[str] = "1"
    # For a registry that leaves thresholds out of measuring stages' hashes: decide must keep them.
    hash_bounds: ClassVar[bool] = True
    batch_size: ClassVar[int] = 256
    parallel: ClassVar[bool] = False  # cheap, and it needs every table in memory once

    _evidence: DecisionEvidence | None = None

    @property
    def evidence(self) -> DecisionEvidence:
        if self._evidence is None:
            self._evidence = DecisionEvidence.load(self.run, self.config)
        return self._evidence

    def upstream_rows(self, stage: str) -> list[Row]:
        """Rows as measured: a threshold-only config change does not hide stored rows."""
        return self.evidence.tables.rows(stage) or []

    def items(self) -> list[Row]:
        windows = group_by(self.upstream_rows("segment"), "clip_id")
        return [{"clip_id": clip_id, "video_id": rows[0].get("video_id")}
                for clip_id, rows in windows.items() if clip_id]

    def setup(self) -> None:
        self.evidence  # noqa: B018 - load every table once, before the first item

    def process(self, item: Row) -> list[Row]:
        evidence = self.evidence
        decision = decide_clip(evidence.segment[item["clip_id"]], evidence.for_clip(item["clip_id"]),
                               self.config)
        return [decision.row(evidence.decision_set_id)]

    def finalize(self) -> list[Row]:
        write_decision_set(self.run, self.config, self.evidence)
        return []

    def status_extras(self, rows: list[Row]) -> dict[str, Any]:
        kept = [r for r in rows if r.get("decision") == "kept"]
        strict = [r for r in kept if "strict" in (r.get("subsets") or [])]
        return {"kept": len(kept), "strict": len(strict),
                "decision_sets": sorted({r.get("decision_set_id") for r in rows if r.get("decision_set_id")})}
