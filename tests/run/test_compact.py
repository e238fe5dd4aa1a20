"""Compaction keeps every row (with its original part and row number) and current rows exactly,
and a crash at any step leaves a readable run directory with the same rows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ophora_data.run.compact as compact_module
from cli import app
from ophora_data.run.compact import compact_run, compact_table, remove_covered
from ophora_data.run.db import RunDB
from ophora_data.run.tables import COMPACT_PREFIX, Table, decode_arrow
from ophora_data.run.workdir import RunDir
from tests.conftest import make_config
from tests.run.test_current_rows import _comparable, generated_run


def _snapshot(run: RunDir) -> dict[str, Any]:
    """Every row ever written and the current rows of both generated tables, comparable."""
    db = RunDB(run, make_config())
    out: dict[str, Any] = {}
    for stage in ("segment", "quality"):
        out[f"{stage}_all"] = _comparable(run.table(stage).all_rows())
        out[stage] = _comparable(decode_arrow(db.current(stage)))
    return out


def test_compaction_keeps_history_and_current_rows(tmp_path: Path) -> None:
    run = generated_run(tmp_path / "run", 5, make_config())
    before = _snapshot(run)
    parts_before = {p.name for p in run.table("quality").parts()}
    results = compact_run(run)
    assert {r.stage for r in results} == {"segment", "quality"}
    for stage in ("segment", "quality"):
        files = run.table(stage).parts()
        assert len(files) == 1 and files[0].name.startswith(COMPACT_PREFIX)
    assert _snapshot(run) == before
    # Superseded rows stay answerable: every row still names the part it was written to.
    assert {r["_part"] for r in run.table("quality").all_rows()} == parts_before
    # New parts after compaction are newer than every compacted row; a second round merges them in.
    run.table("quality").append([{"clip_id": "vid5000_0", "status": "ok", "reason": "", "config_hash": "x"}])
    assert len(run.table("quality").parts()) == 2
    assert compact_table(run.table("quality"), ("clip_id",)).merged_files == 2
    assert len(run.table("quality").all_rows()) == len(before["quality_all"]) + 1


def test_small_tables_are_left_alone_until_min_files(tmp_path: Path) -> None:
    table = Table(tmp_path, "probe")
    table.append([{"video_id": "a", "status": "ok", "reason": ""}])
    assert compact_table(table, min_files=2).merged_files == 0
    table.append([{"video_id": "b", "status": "ok", "reason": ""}])
    assert compact_table(table, min_files=3).merged_files == 0
    assert compact_table(table, min_files=2).merged_files == 2


def _crash_after_writing(*_args: Any, **_kwargs: Any) -> None:
    raise OSError("crash: killed while writing the merged file")


@pytest.mark.parametrize("step", ["write", "rename", "delete-first", "delete-last"])
def test_a_crash_at_any_step_leaves_the_rows_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       step: str) -> None:
    run = generated_run(tmp_path / "run", 9, make_config())
    before = _snapshot(run)
    table = run.table("quality")
    n_parts = len(table.parts())
    if step == "write":  # the merged file is half written (temp name) when the process dies
        real = compact_module.atomic_write

        def dying_write(path: Path, write: Any) -> Path:
            return real(path, lambda tmp: (write(tmp), _crash_after_writing()))
        monkeypatch.setattr(compact_module, "atomic_write", dying_write)
    elif step == "rename":  # written and checked, dies before the switch
        monkeypatch.setattr(os, "replace", _crash_after_writing)
    else:  # switched, dies while deleting the replaced parts
        calls = {"n": 0}
        real_unlink = Path.unlink
        limit = 1 if step == "delete-first" else n_parts - 1

        def dying_unlink(self: Path, missing_ok: bool = False) -> None:
            calls["n"] += 1
            if calls["n"] > limit:
                raise OSError("crash: killed while deleting")
            real_unlink(self, missing_ok=missing_ok)
        monkeypatch.setattr(Path, "unlink", dying_unlink)
    with pytest.raises(OSError, match="crash"):
        compact_table(table, ("clip_id",))
    monkeypatch.undo()
    assert _snapshot(run) == before
    # The next compaction cleans up and ends in the compacted state, rows still unchanged.
    compact_table(table, ("clip_id",))
    remove_covered(table)
    files = sorted(p.name for p in table.dir.iterdir() if p.suffix == ".parquet")
    assert len(files) == 1 and files[0].startswith(COMPACT_PREFIX)
    assert _snapshot(run) == before


def test_a_reader_survives_a_compaction_between_listing_and_reading(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run = generated_run(tmp_path / "run", 3, make_config())
    db = RunDB(run, make_config())
    first = _comparable(decode_arrow(db.current("quality")))  # views now list the part files
    compact_run(run)  # ... which are deleted here
    assert _comparable(decode_arrow(db.current("quality"))) == first  # views follow the new files
    # The race itself: a query reads views that still list the deleted parts; it is retried.
    compact_table(run.table("quality"))  # nothing new to merge: the view's file list stays valid
    run.table("quality").append([{"clip_id": "new_0", "status": "ok", "reason": "", "config_hash": "x"}])
    db.ensure("quality")
    compact_table(run.table("quality"), min_files=2)  # the files the view lists are gone now
    monkeypatch.setattr(db, "_ensure_mentioned", lambda sql: None)  # as if listed just before
    rows = db.rows("SELECT count(*) AS n FROM quality_all")
    assert rows == [{"n": len(first_all := run.table("quality").all_rows())}] and len(first_all) > 0


def test_compact_command(tmp_path: Path) -> None:
    run = generated_run(tmp_path / "run", 4, make_config())
    result = CliRunner().invoke(app, ["compact", "-w", str(run.root), "--stage", "quality", "--json"])
    assert result.exit_code == 0, result.output
    assert '"merged_files": 8' in result.output
    assert len(run.table("segment").parts()) == 8  # only the named table
    missing = CliRunner().invoke(app, ["compact", "-w", str(run.root), "--stage", "nope"])
    assert missing.exit_code == 2 and "no table for nope" in missing.output
