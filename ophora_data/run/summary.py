"""Status summaries: what `status` counted in a table, remembered for the table's exact live files.

At the paper's scale (160K clips) `status` reads about 3M rows to count ok / rejected / failed
per key, the top reasons and each stage's figures: 2-4 s even with DuckDB. Those numbers change
only when the table's files do: a part is written once under a unique name and never modified,
and only compaction removes files (keeping every row). So each table keeps `_status.json`, keyed
by its live file names, the stage's config hash (the current rows depend on it), the number of
reasons asked for and the counting code (package version; size and mtime of the stage's module
and of `run/status.py`); `status` uses it when the key matches and counts again otherwise.
Compaction carries a summary over to the file it writes (the same rows). Pending items and the
done marker are never remembered: they depend on upstream tables, today's bounds and the media
folders, and `status` computes them every time.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ophora_data import __version__
from ophora_data.run.atomic import atomic_write_text
from ophora_data.run.tables import Table

SUMMARY_FILE = "_status.json"
FORMAT = 1


def summary_key(files: Iterable[str | Path], config_hash: str, top: int, code: str) -> dict[str, Any]:
    """What a summary is valid for: the live files (names, sorted), hash, reasons asked for, and the
    code that counted (package version, plus `code`: e.g. the counting modules' size and mtime, so an
    edited checkout counts again without a version bump)."""
    return {"format": FORMAT, "version": __version__, "code": code, "config_hash": config_hash, "top": top,
            "files": sorted(Path(f).name for f in files)}


def _read(table: Table) -> dict[str, Any] | None:
    try:
        data = json.loads((table.dir / SUMMARY_FILE).read_text())
    except (OSError, ValueError):  # none yet, or damaged (e.g. a disk filled mid-copy): count again
        return None
    return data if isinstance(data, dict) and isinstance(data.get("key"), dict) else None


def read_summary(table: Table, key: dict[str, Any]) -> dict[str, Any] | None:
    """The remembered figures when the table's summary was made for exactly `key`, else None."""
    data = _read(table)
    return data.get("value") if data is not None and data["key"] == key else None


def write_summary(table: Table, key: dict[str, Any], value: dict[str, Any]) -> None:
    """Remember `value` (JSON-serialisable) for `key`; a run directory that cannot be written
    (read-only, full disk) only makes the next `status` count again."""
    if not table.dir.is_dir():
        return
    with contextlib.suppress(OSError):
        # Keys in their order (not sorted): the figures print in the order the stage gave them.
        atomic_write_text(table.dir / SUMMARY_FILE, json.dumps({"key": key, "value": value}) + "\n")


def carry_summary(table: Table, before: Iterable[str], replaced: Iterable[str], output: str) -> None:
    """After compaction merged the files `replaced` (rows unchanged) into `output`: a summary made
    for the live files `before` holds for the files after. Computed from `before`, never from a
    new listing, so a part appended during the compaction is never counted as summarised."""
    data = _read(table)
    before_names = sorted(Path(f).name for f in before)
    if data is None or data["key"].get("files") != before_names:
        return
    replaced_names = {Path(f).name for f in replaced}
    after = [n for n in before_names if n not in replaced_names] + [Path(output).name]
    write_summary(table, {**data["key"], "files": sorted(after)}, data["value"])
