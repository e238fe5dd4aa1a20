"""The local executor: in-process or a process pool, with per-item error capture and resume."""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from tqdm import tqdm

from ophora_data.config import Config
from ophora_data.executors.batch import normalise, safe_process_batch, stamp
from ophora_data.executors.result import StageResult
from ophora_data.run.compact import compact_table
from ophora_data.run.secrets import redact
from ophora_data.run.tables import current_rows_sql, decode_arrow, quote_ident
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Items, Row, Stage, item_count
from ophora_data.stages.registry import stage_config_hash


@dataclass(frozen=True)
class RunOptions:
    workers: int = 1
    limit: int | None = None
    retry_failed: bool = False
    overwrite: bool = False
    progress: bool = True


def done_table(stage: Stage, config_hash: str, options: RunOptions) -> pa.Table | None:
    """Work keys (column `k`) that need no work: they have current rows, and no failed row that
    is retried (transient failures always are, permanent ones with `--retry-failed`). None when
    the table has no rows yet."""
    table = stage.run.table(stage.name)
    present = set(table.columns())
    work_key = stage.work_key()
    if not {"config_hash", work_key} <= present:
        return None
    failed = "status = 'failed'"
    retried = failed if options.retry_failed else (
        f"{failed} AND retryable" if "retryable" in present else "false")
    current = current_rows_sql(work_key, config_hash)
    return table.query(lambda scan: f"SELECT CAST({quote_ident(work_key)} AS VARCHAR) AS k "
                                    f"FROM ({current.format(scan=scan)}) "
                                    f"GROUP BY 1 HAVING NOT coalesce(bool_or({retried}), false)")


def done_keys(stage: Stage, config_hash: str, options: RunOptions) -> set[Any]:
    """`done_table` as a Python set."""
    done = done_table(stage, config_hash, options)
    return set(done.column("k").to_pylist()) if done is not None and done.num_rows else set()


def pending_items(stage: Stage, config_hash: str, options: RunOptions) -> tuple[Items, int]:
    """(items still to process, how many are already done), in the order `items()` gave them."""
    items = stage.items()
    total = item_count(items)
    if options.overwrite:
        return items, 0
    work_key = stage.work_key()
    if isinstance(items, pa.Table):
        done = done_table(stage, config_hash, options)
        if done is None or not done.num_rows or not total:
            return items, 0
        keys = items.column(work_key).cast(pa.string())
        import pyarrow.compute as pc  # here: every command imports this module, few filter items (80 ms)

        pending: Items = items.filter(pc.invert(pc.is_in(keys, value_set=done.column("k"))))
        return pending, total - pending.num_rows
    finished = done_keys(stage, config_hash, options)
    pending = [item for item in items if item[work_key] not in finished]
    return pending, total - len(pending)


def _limit(items: Items, limit: int | None) -> Items:
    if limit is None:
        return items
    return items.slice(0, limit) if isinstance(items, pa.Table) else items[:limit]


# Process-pool plumbing: each worker builds and sets up its own stage once.
_WORKER_STAGE: Stage | None = None
# Workers start from a fresh interpreter (forkserver), not a fork of the driver: a fork copies
# whatever locks the driver's threads held (onnxruntime's, OpenMP's, DuckDB's), and a model used in
# the child can then wait on them forever.
POOL_CONTEXT = "forkserver"


def _init_worker(stage_path: str, config_data: dict[str, Any], workdir: str) -> None:
    """Build and set up the stage in a worker; `stage_path` is `module:Class` (any importable stage)."""
    global _WORKER_STAGE
    module, _, name = stage_path.partition(":")
    cls = getattr(importlib.import_module(module), name)
    _WORKER_STAGE = cls(Config.model_validate(config_data), RunDir(workdir))
    _WORKER_STAGE.setup()


def _work(batch: list[Row]) -> list[list[Row]]:
    assert _WORKER_STAGE is not None
    return safe_process_batch(_WORKER_STAGE, batch)


def _batches(items: Items, size: int) -> Iterator[list[Row]]:
    """Batches of item dicts; an Arrow table is turned into dicts one batch at a time."""
    for start in range(0, item_count(items), size):
        if isinstance(items, pa.Table):
            yield decode_arrow(items.slice(start, size))
        else:
            yield items[start : start + size]


def run_stage(stage: Stage, options: RunOptions = RunOptions()) -> StageResult:
    """Process every pending item of `stage`, committing rows every `run.flush_every` items.

    The done marker is written last (and left alone when nothing was processed and it exists);
    then the stage's small part files are compacted when there are `run.compact_min_parts` of them.
    """
    cls = type(stage)
    config_hash = stage_config_hash(cls, stage.config)
    table = stage.run.table(cls.name)
    pending, done = pending_items(stage, config_hash, options)
    pending = _limit(pending, options.limit)
    result = StageResult(cls.name, config_hash, pending=item_count(pending), skipped_done=done)
    if item_count(pending) and cls.set_based:
        _run_set_based(stage, pending, config_hash, result)
    elif item_count(pending):
        _run_items(stage, pending, config_hash, result, options)
    if result.processed or table.marker(config_hash) is None:
        # The marker is written last: a crash before this line leaves only whole part files.
        table.write_marker(config_hash, result.as_dict())
    if result.processed:
        _compact(stage)
        _remember_counts(stage)
    return result


def _run_items(stage: Stage, pending: Items, config_hash: str, result: StageResult, options: RunOptions) -> None:
    cls = type(stage)
    table = stage.run.table(cls.name)
    buffer: list[Row] = []
    uncommitted_items = 0
    workers = options.workers if cls.parallel else 1
    bar = tqdm(total=item_count(pending), desc=cls.name, unit="item", disable=not options.progress)
    for batch, batch_rows in _execute(stage, pending, max(1, cls.batch_size), workers):
        for item, rows in zip(batch, batch_rows, strict=True):
            rows = normalise(cls, item, rows, config_hash)
            result.add(rows, cls.row_identity)
            buffer.extend(rows)
        result.processed += len(batch)
        uncommitted_items += len(batch)
        bar.update(len(batch))
        bar.set_postfix(ok=result.status_counts["ok"], rejected=result.status_counts["rejected"],
                        failed=result.status_counts["failed"], refresh=False)
        if uncommitted_items >= stage.config.run.flush_every:
            table.append(buffer)
            buffer.clear()
            uncommitted_items = 0
    final_rows = [normalise(cls, row, [row], config_hash)[0] for row in stage.finalize()]
    result.add(final_rows, cls.row_identity)
    buffer.extend(final_rows)
    bar.close()
    table.append(buffer)


def _run_set_based(stage: Stage, pending: Items, config_hash: str, result: StageResult) -> None:
    """A set-based stage computes every pending item in one query; its rows are one part."""
    cls = type(stage)
    items = pending if isinstance(pending, pa.Table) else pa.Table.from_pylist(pending)
    stage.setup()
    rows = stage.process_all(items)
    rows = stamp(rows, config_hash)
    result.add_arrow(rows, cls.key)
    result.processed += items.num_rows
    stage.run.table(cls.name).append_arrow(rows)
    final_rows = [normalise(cls, row, [row], config_hash)[0] for row in stage.finalize()]
    result.add(final_rows, cls.row_identity)
    stage.run.table(cls.name).append(final_rows)


def _compact(stage: Stage) -> None:
    """Merge the stage's small parts (a failure leaves them as they are: nothing is lost)."""
    cls = type(stage)
    try:
        compact_table(stage.run.table(cls.name), (cls.work_key(), cls.key),
                      min_files=stage.config.run.compact_min_parts,
                      memory_limit=stage.config.run.duckdb_memory_limit)
    except Exception as exc:  # noqa: BLE001 - compaction is an optimisation, never a reason to fail
        tqdm.write(f"{cls.name}: compaction skipped ({redact(f'{type(exc).__name__}: {exc}')}); "
                   "the parts stay as written")


def _remember_counts(stage: Stage) -> None:
    """Count the finished table for `status` now (`run.summary`): at 160K clips the first `status`
    after a run then reads one small file instead of a million rows. A failure leaves it to `status`."""
    from ophora_data.run.db import RunDB
    from ophora_data.run.status import table_counts

    try:
        table_counts(stage, RunDB(stage.run, stage.config))
    except Exception as exc:  # noqa: BLE001 - an optimisation, never a reason to fail the stage
        tqdm.write(f"{type(stage).name}: status summary skipped ({redact(f'{type(exc).__name__}: {exc}')})")


def _execute(stage: Stage, items: Items, size: int, workers: int) -> Iterator[tuple[list[Row], list[list[Row]]]]:
    """(batch, rows per item of the batch) pairs, in the items' order."""
    if workers <= 1 or item_count(items) <= size:
        stage.setup()
        for batch in _batches(items, size):
            yield batch, safe_process_batch(stage, batch)
        return
    batches = list(_batches(items, size))
    if stage.config.run.executor == "ray":
        from ophora_data.executors.ray_executor import execute_on_ray

        yield from zip(batches, execute_on_ray(stage, batches, workers), strict=True)
        return
    cls = type(stage)
    init_args = (f"{cls.__module__}:{cls.__qualname__}", stage.config.model_dump(mode="json"), str(stage.run.root))
    context = multiprocessing.get_context(POOL_CONTEXT)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=init_args) as pool:
        yield from zip(batches, pool.map(_work, batches), strict=True)
