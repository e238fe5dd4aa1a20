"""`refilter`: re-decide every clip from stored check values under new thresholds.

Only tables are read and the decide table written: no stage other than decide is built,
no model adapter loaded, no media touched. The result compares the new decision set with
the newest one written before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ophora_data.audit.decisionsets import decision_set_ids, load_decisions
from ophora_data.audit.diff import DecisionDiff, compare
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
        return self.stage_result.processed


def refilter(run: RunDir, config: Config) -> RefilterResult:
    started = time.perf_counter()
    ids = decision_set_ids(run)
    before_id = ids[-1] if ids else None
    before = load_decisions(run, before_id) if before_id else {}
    stage = DecideStage(config, run)
    # overwrite: even an unchanged decision set is rewritten, so it becomes the newest one.
    result = run_stage(stage, RunOptions(workers=1, overwrite=True, progress=False))
    after_id = stage.evidence.decision_set_id
    after = load_decisions(run, after_id)
    diff = compare(before, after, before_id or "(none)", after_id)
    return RefilterResult(before_id, after_id, diff, result, time.perf_counter() - started)
