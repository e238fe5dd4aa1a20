"""The local executor: in-process or a process pool, with per-item error capture and resume."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from ophora_data.config import Config
from ophora_data.executors.batch import normalise, safe_process_batch
from ophora_data.executors.result import StageResult
from ophora_data.run.tables import group_by
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Row, Stage
from ophora_data.stages.registry import get_stage, stage_config_hash


@dataclass(frozen=True)
class RunOptions:
    workers: int = 1
    limit: int | None = None
    retry_failed: bool = False
    overwrite: bool = False
    progress: bool = True


def pending_items(stage: Stage, config_hash: str, options: RunOptions) -> tuple[list[Row], int]:
    items = stage.items()
    if options.overwrite:
        return items, 0
    work_key = stage.work_key()
    done = group_by(stage.run.table(stage.name).current(work_key, config_hash), work_key)

    def needs_work(item: Row) -> bool:
        rows = done.get(item[work_key])
        if not rows:
            return True
        failed = [r for r in rows if r.get("status") == "failed"]
        return bool(failed) and (options.retry_failed or any(r.get("retryable") for r in failed))

    pending = [item for item in items if needs_work(item)]
    return pending, len(items) - len(pending)


# Process-pool plumbing: each worker builds and sets up its own stage once.
_WORKER_STAGE: Stage | None = None


def _init_worker(stage_name: str, config_data: dict[str, Any], workdir: str) -> None:
    global _WORKER_STAGE
    _WORKER_STAGE = get_stage(stage_name)(Config.model_validate(config_data), RunDir(workdir))
    _WORKER_STAGE.setup()


def _work(batch: list[Row]) -> list[list[Row]]:
    assert _WORKER_STAGE is not None
    return safe_process_batch(_WORKER_STAGE, batch)


def _batches(items: list[Row], size: int) -> Iterator[list[Row]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_stage(stage: Stage, options: RunOptions = RunOptions()) -> StageResult:
    """Process every pending item of `stage`, committing rows every `run.flush_every` items."""
    cls = type(stage)
    config_hash = stage_config_hash(cls, stage.config)
    table = stage.run.table(cls.name)
    pending, done = pending_items(stage, config_hash, options)
    if options.limit is not None:
        pending = pending[: options.limit]
    result = StageResult(cls.name, config_hash, pending=len(pending), skipped_done=done)
    buffer: list[Row] = []

    def commit(force: bool = False) -> None:
        if buffer and (force or len(buffer) >= stage.config.run.flush_every):
            table.append(buffer)
            buffer.clear()

    batches = list(_batches(pending, max(1, cls.batch_size)))
    workers = options.workers if cls.parallel else 1
    bar = tqdm(total=len(pending), desc=cls.name, unit="item", disable=not options.progress or not pending)
    if pending:
        for batch, batch_rows in zip(batches, _execute(stage, batches, workers), strict=True):
            for item, rows in zip(batch, batch_rows, strict=True):
                rows = normalise(cls, item, rows, config_hash)
                result.add(rows, cls.row_identity)
                buffer.extend(rows)
            result.processed += len(batch)
            bar.update(len(batch))
            bar.set_postfix(
                ok=result.status_counts["ok"],
                rejected=result.status_counts["rejected"],
                failed=result.status_counts["failed"],
                refresh=False,
            )
            commit()
        final_rows = [normalise(cls, row, [row], config_hash)[0] for row in stage.finalize()]
        result.add(final_rows, cls.row_identity)
        buffer.extend(final_rows)
    bar.close()
    commit(force=True)
    # The marker is written last: a crash before this line leaves only whole part files.
    table.write_marker(config_hash, result.as_dict())
    return result


def _execute(stage: Stage, batches: list[list[Row]], workers: int) -> Iterator[list[list[Row]]]:
    if workers <= 1 or len(batches) <= 1:
        stage.setup()
        for batch in batches:
            yield safe_process_batch(stage, batch)
        return
    if stage.config.run.executor == "ray":
        from ophora_data.executors.ray_executor import execute_on_ray

        yield from execute_on_ray(stage, batches, workers)
        return
    init_args = (type(stage).name, stage.config.model_dump(mode="json"), str(stage.run.root))
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=init_args) as pool:
        yield from pool.map(_work, batches)
