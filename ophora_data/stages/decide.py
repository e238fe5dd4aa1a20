"""`decide`: one decision per candidate window from all its checks and the config's thresholds.

Items are every `segment` window (ok or rejected). Decisions are computed in one DuckDB query
over the current rows of the check-writing stages (`ophora_data.audit.decisions`), so stored
values are re-judged under today's thresholds without reading any table into Python; the rows
of a new decision set are written as one part. The set's thresholds, model names/revisions,
prompt versions and code version go to `decisions/<decision_set_id>.json`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from ophora_data.audit.decisions import DECISION_COLUMNS, KEPT, SUBSET_STRICT, decisions_sql
from ophora_data.audit.decisionsets import decision_set_id, write_decision_set
from ophora_data.audit.judge import DECISION_STAGES
from ophora_data.run.db import RunDB
from ophora_data.run.tables import empty_sql
from ophora_data.stages.base import Row, Stage


class DecideStage(Stage):
    name: ClassVar[str] = "decide"
    needs: ClassVar[tuple[str, ...]] = ("segment", *DECISION_STAGES)
    key: ClassVar[str] = "clip_id"
    # The check stages' sections hold the thresholds decide applies.
    config_sections: ClassVar[tuple[str, ...]] = ("decide", *DECISION_STAGES)
    version: ClassVar[str] = "1"
    # Thresholds are left out of measuring stages' hashes: decide's rows depend on them.
    hash_bounds: ClassVar[bool] = True
    set_based: ClassVar[bool] = True
    parallel: ClassVar[bool] = False
    columns: ClassVar[tuple[str, ...]] = DECISION_COLUMNS

    @property
    def decision_set_id(self) -> str:
        if getattr(self, "_set_id", None) is None:
            self._set_id = decision_set_id(self.db)
        return self._set_id

    def items_sql(self) -> str:
        """Every candidate window (ok or rejected) of `segment`, with its video."""
        if not self.db.has_rows("segment"):
            return empty_sql({"clip_id": "VARCHAR", "video_id": "VARCHAR"})
        return ("SELECT clip_id, first(video_id ORDER BY _part, _row) AS video_id FROM segment "
                "WHERE clip_id IS NOT NULL GROUP BY clip_id ORDER BY clip_id")

    def setup(self) -> None:
        """Nothing to load: deciding reads tables only (refilter relies on it: no model, no media)."""

    def process_all(self, items: pa.Table) -> pa.Table:
        self.db.con.register("_decide_items", items.select(["clip_id"]))
        try:
            return self.db.arrow(decisions_sql(self.db, self.decision_set_id, clips="_decide_items"))
        finally:
            self.db.con.unregister("_decide_items")

    def finalize(self) -> list[Row]:
        write_decision_set(self.db, self.decision_set_id)
        return []

    def status_figures(self, db: RunDB) -> dict[str, Any]:
        present = db.stage_columns(self.name)
        if "decision" not in present:
            return {"kept": 0, "strict": 0, "decision_sets": []}
        kept, strict, sets = db.execute(
            f"SELECT count(*) FILTER (WHERE decision = '{KEPT}'), count(*) FILTER (WHERE decision = '{KEPT}' "
            f"AND list_contains(CAST(subsets AS VARCHAR[]), '{SUBSET_STRICT}')), "
            f"list(DISTINCT decision_set_id ORDER BY decision_set_id) FILTER (WHERE decision_set_id IS NOT NULL) "
            f"FROM decide").fetchall()[0]
        return {"kept": kept, "strict": strict, "decision_sets": list(sets or [])}
