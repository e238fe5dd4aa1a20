"""The stage contract: a small class, config on the instance, models loaded in setup().

An executor owns parallelism, batching, retries and markers; a stage only turns one
item (a dict) into rows (dicts). Every row carries the stage's key, `status` in
{ok, rejected, failed} and a `reason`; the executor adds `config_hash`, `updated_at`
and `retryable`. Checks write one row per check (see `check_row`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ophora_data.config import Bound, Config
from ophora_data.run.tables import key_status
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]


class StageError(RuntimeError):
    """The stage itself cannot run (missing extra, missing model); exit code 1."""


class Stage:
    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    key: ClassVar[str] = "video_id"
    # The key of a work item when it differs from the row key: e.g. `cut` takes one source
    # video (item_key video_id) and writes one row per clip (key clip_id). Resume is per item.
    item_key: ClassVar[str | None] = None
    # Config sections whose values change this stage's output (part of its config hash).
    config_sections: ClassVar[tuple[str, ...]] = ()
    # True when the stage's rows depend on its Bounds beyond stored check values (see registry).
    hash_bounds: ClassVar[bool] = False
    # Bump when the stage's logic changes its output: part of the config hash too.
    version: ClassVar[str] = "1"
    # >1: the executor hands process_batch() lists of up to this many items.
    batch_size: ClassVar[int] = 1
    # False: always run in the main process (GPU models, cross-item logic).
    parallel: ClassVar[bool] = True

    def __init__(self, config: Config, run: RunDir) -> None:
        self.config = config
        self.run = run

    @classmethod
    def work_key(cls) -> str:
        return cls.item_key or cls.key

    @classmethod
    def hash_inputs(cls, config: Config) -> dict[str, Any]:
        """Inputs outside the config sections that change the output (e.g. an env-selected endpoint)."""
        return {}

    @classmethod
    def row_identity(cls, row: Row) -> Any:
        """What a row counts under: its key, or its work item when a failure left the key empty."""
        value = row.get(cls.key)
        return value if value is not None else row.get(cls.work_key())

    def setup(self) -> None:
        """Load models here, never in __init__ (called once per worker)."""

    def items(self) -> list[Row]:
        """Work items, one per key: by default the ok keys of the first needed table."""
        return self.upstream_ok(self.needs[0]) if self.needs else []

    def process(self, item: Row) -> list[Row]:
        raise NotImplementedError

    def process_batch(self, items: list[Row]) -> list[list[Row]]:
        return [self.process(item) for item in items]

    def finalize(self) -> list[Row]:
        """Rows computed across all items (after process); default none."""
        return []

    def status_extras(self, rows: list[Row]) -> dict[str, Any]:
        """Stage-specific figures for `status` (e.g. token usage); default none."""
        return {}

    # Helpers for subclasses ------------------------------------------------------------
    def upstream_rows(self, stage: str) -> list[Row]:
        """Current rows of an upstream stage under its current config hash."""
        from ophora_data.stages.registry import get_stage, stage_config_hash

        upstream = get_stage(stage)
        # Newest part per work item: a re-processed video replaces all its old clip rows.
        return self.run.table(stage).current(upstream.work_key(), stage_config_hash(upstream, self.config))

    def upstream_ok(self, stage: str) -> list[Row]:
        """One row per key whose rows are all ok under today's bounds (the first row of each such key)."""
        from ophora_data.run.tables import group_by
        from ophora_data.stages.registry import get_stage

        groups = group_by(self.upstream_rows(stage), get_stage(stage).key)
        return [rows[0] for rows in groups.values() if self.upstream_status(stage, rows) == "ok"]

    def upstream_status(self, stage: str, rows: list[Row]) -> str:
        """A key's status with its check rows re-judged against the current config's bounds.

        Thresholds are not part of stage hashes, so a stored status may predate a new bound:
        gating on the stored value keeps downstream stages consistent with `decide`.
        """
        return key_status([{"status": current_status(stage, row, self.config)} for row in rows])


def config_bound(config: Config, stage: str, check: str) -> Bound | None:
    """The Bound that judges `check` of `stage` (config.<stage>.<check>), if there is one."""
    bound = getattr(getattr(config, stage, None), check, None)
    return bound if isinstance(bound, Bound) else None


def numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def current_status(stage: str, row: Row, config: Config) -> str:
    """A row's status with a numeric check re-evaluated under the config's current bound."""
    bound = config_bound(config, stage, row["check"]) if row.get("check") else None
    value = numeric(row.get("value"))
    if row.get("status") == "failed" or bound is None or value is None:
        return row.get("status") or "failed"
    return "ok" if bound.accepts(value) else "rejected"


def check_row(
    key: str,
    key_value: str,
    check: str,
    value: float | None,
    bound: Bound,
    *,
    model: str | None = None,
    model_revision: str | None = None,
    **extra: Any,
) -> Row:
    """One auditable check: the value is stored so decide/refilter can re-evaluate it."""
    passed = bound.accepts(value)
    if passed:
        reason = ""
    elif value is None:
        reason = f"{check}: no value"
    else:
        limits = f"[{bound.min}, {bound.max}]" if bound.op == "between" else f"{bound.op} {bound.threshold}"
        reason = f"{check} {value:.4g} not {limits}"
    return {
        key: key_value,
        "status": "ok" if passed else "rejected",
        "reason": reason,
        "check": check,
        "value": None if value is None else float(value),
        "threshold": bound.threshold,
        "threshold_max": bound.max if bound.op == "between" else None,
        "op": bound.op,
        "passed": passed,
        "model": model,
        "model_revision": model_revision,
        **extra,
    }


def flag_row(key: str, key_value: str, check: str, passed: bool, reason: str, **extra: Any) -> Row:
    """A boolean check with no tunable threshold (e.g. privacy verification)."""
    return {
        key: key_value,
        "status": "ok" if passed else "rejected",
        "reason": "" if passed else reason,
        "check": check,
        "value": 1.0 if passed else 0.0,
        "threshold": 1.0,
        "threshold_max": None,
        "op": "==",
        "passed": passed,
        **extra,
    }
