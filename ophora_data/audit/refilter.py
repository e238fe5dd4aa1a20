"""`refilter`: re-decide every clip from stored check values under new thresholds.

Only tables are read and the decide table written: no stage other than decide is built, no
model adapter loaded, no media touched. Deciding is one DuckDB query; a new decision set costs
one part, and returning to thresholds decided before costs no rows at all (that set is made the
newest again). The result compares the new decision set with the newest one before it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ophora_data.audit.decisionsets import activate, decision_set_ids
from ophora_data.audit.diff import DecisionDiff, compare, set_table
from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.executors.result import StageResult
from ophora_data.run.workdir import RunDir
from ophora_data.stages.decide import DecideStage


@dataclass
class RefilterResult:
    before_id: str | None
    after_id: str
    diff: DecisionDiff
    stage_result: StageResult
    seconds: float

    @property
    def candidates(self) -> int:
        return self.stage_result.processed + self.stage_result.skipped_done


def refilter(run: RunDir, config: Config) -> RefilterResult:
    started = time.perf_counter()
    ids = decision_set_ids(run)
    before_id = ids[-1] if ids else None
    stage = DecideStage(config, run)
    before = set_table(run, before_id, stage.db) if before_id else set_table(run, "", stage.db)
    result = run_stage(stage, RunOptions(workers=1, progress=False))
    after_id = stage.decision_set_id
    activate(run, after_id)
    diff = compare(before, set_table(run, after_id, stage.db), before_id or "(none)", after_id)
    return RefilterResult(before_id, after_id, diff, result, time.perf_counter() - started)
