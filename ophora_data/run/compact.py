"""Compaction: merge a table's many small part files into one, keeping every row and its history.

A stage commits a part every `run.flush_every` items, so at the paper's scale (160K clips) each
per-clip stage leaves thousands of parts, and opening files dominates every query. Compaction
writes the rows of the small live files into one `compact-*.parquet`, sorted by config hash and
work key (so DuckDB can skip row groups for one clip), each row keeping its original `_part` and
`_row` (so "newest part per work item" and "superseded" stay answerable exactly). The file's
footer lists the files it replaces (`ophora.covers`).

Atomicity: the merged file is written under a temp name, its row count checked, then renamed
into place; that rename is the single switch point (readers ignore covered files from then on).
Only then are the covered files deleted. A crash at any step leaves either the old files (plus a
hidden temp file) or the new file (plus covered files that readers ignore and the next
compaction deletes); the rows read are the same either way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ophora_data.run.atomic import atomic_write
from ophora_data.run.summary import carry_summary
from ophora_data.run.tables import COMPACT_PREFIX, Table, connect, quote_ident, quote_literal
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import get_stage, stage_names

# Files at least this large are already "large": they are left alone (size-tiered merging).
DEFAULT_TARGET_BYTES = 256 * 1024 * 1024
PARQUET_ROW_GROUP = 100_000  # rows per row group: small enough that a one-clip lookup skips most
STALE_TEMP_S = 3600  # a temp file this old belongs to no live writer


@dataclass
class CompactionResult:
    stage: str
    merged_files: int = 0
    rows: int = 0
    removed_files: int = 0
    output: Path | None = None

    def as_dict(self) -> dict[str, object]:
        return {"stage": self.stage, "merged_files": self.merged_files, "rows": self.rows,
                "removed_files": self.removed_files, "output": str(self.output) if self.output else None}


def remove_covered(table: Table) -> int:
    """Delete files that a compacted file replaces, and stale temp files; returns how many.

    Readers already ignore covered files, so this only frees disk space.
    """
    parts, compacted = table.data_files()
    live_compacted = [p for p in compacted if p.name not in table.covered(compacted)]
    covered = table.covered(live_compacted)
    removed = 0
    for path in parts + compacted:
        if path.name in covered:
            path.unlink(missing_ok=True)
            removed += 1
    if table.dir.is_dir():
        cutoff = time.time() - STALE_TEMP_S
        for path in table.dir.glob(".*.tmp"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
    return removed


def compact_table(table: Table, sort_keys: Sequence[str] = (), *, min_files: int = 2,
                  target_bytes: int = DEFAULT_TARGET_BYTES, memory_limit: str | None = None) -> CompactionResult:
    """Merge the live files of `table` smaller than `target_bytes` into one compacted file.

    Nothing is merged when fewer than `min_files` such files exist. `sort_keys` (e.g. the
    stage's work key) order rows inside the new file after `config_hash`. Raises
    `RuntimeError` when the merged file does not hold exactly the rows it replaces (the
    original files then stay in use).
    """
    result = CompactionResult(table.stage, removed_files=remove_covered(table))
    live = table.parts()
    small = [p for p in live if p.stat().st_size < target_bytes]
    if len(small) < max(2, min_files):
        return result
    scan = table.scan_sql(small)
    assert scan is not None
    con = connect()
    if memory_limit:
        con.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    present = {row[0] for row in con.execute(f"DESCRIBE {scan}").fetchall()}
    order = [c for c in ("config_hash", *sort_keys) if c in present]
    order_sql = ", ".join([*(quote_ident(c) for c in dict.fromkeys(order)), "_part", "_row"])
    expected = con.execute(f"SELECT count(*) FROM ({scan})").fetchall()[0][0]
    covers = json.dumps(sorted(p.name for p in small))

    def write(tmp: Path) -> None:
        con.execute(f"COPY (SELECT * FROM ({scan}) ORDER BY {order_sql}) TO {quote_literal(str(tmp))} "
                    f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {PARQUET_ROW_GROUP}, "
                    f"KV_METADATA {{'ophora.covers': {quote_literal(covers)}}})")
        written = con.execute(f"SELECT count(*) FROM read_parquet({quote_literal(str(tmp))})").fetchall()[0][0]
        if written != expected:
            raise RuntimeError(f"compaction of {table.stage}: wrote {written} rows, expected {expected}")

    output = atomic_write(table.new_part_path(COMPACT_PREFIX), write)  # the switch point
    carry_summary(table, [p.name for p in live], [p.name for p in small], output.name)  # same rows
    result.merged_files, result.rows, result.output = len(small), int(expected), output
    for path in small:
        path.unlink(missing_ok=True)
        result.removed_files += 1
    return result


def compact_run(run: RunDir, stages: Sequence[str] | None = None, *, min_files: int = 2,
                memory_limit: str | None = None) -> list[CompactionResult]:
    """Compact the tables of `stages` (every table of the run when None), each sorted by its
    stage's work key and key when the stage is registered. Raises KeyError for a stage with no table."""
    names = list(stages) if stages else run.stages_with_tables()
    missing = [n for n in names if not run.table(n).dir.is_dir()]
    if missing:
        raise KeyError(f"no table for {', '.join(missing)} in {run.root}; tables: "
                       f"{', '.join(run.stages_with_tables()) or 'none'}")
    known = set(stage_names())
    results = []
    for name in names:
        keys: tuple[str, ...] = ()
        if name in known:
            cls = get_stage(name)
            keys = (cls.work_key(), cls.key)
        results.append(compact_table(run.table(name), keys, min_files=min_files, memory_limit=memory_limit))
    return results
