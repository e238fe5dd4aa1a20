"""`status` remembers each table's counts for its exact live files (`run.summary`).

A remembered answer must equal a fresh count, and must never outlive the files it was made for:
a new part, a changed config hash, a damaged file or a part appended while compacting all make
`status` count again; a compaction (same rows) carries the summary over.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run import status as status_module
from ophora_data.run.compact import compact_table
from ophora_data.run.status import run_status
from ophora_data.run.summary import SUMMARY_FILE, carry_summary
from ophora_data.run.workdir import RunDir
from ophora_data.stages.decide import DecideStage
from tests.audit.fakerun import Clip, build_run, standard_clips, write_rows
from tests.conftest import make_config


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stages whose tables `status` actually counted (instead of reading their summary)."""
    calls: list[str] = []
    real = status_module._count

    def spy(stage: Any, db: Any, top: int) -> dict[str, Any]:
        calls.append(type(stage).name)
        return real(stage, db, top)

    monkeypatch.setattr(status_module, "_count", spy)
    return calls


def decided_run(run: RunDir, config: Config, *parts: list[Clip]) -> RunDir:
    """Every stage's table written (one part per element of `parts`), then `decide` run."""
    for clips in parts:
        build_run(run, config, clips)
    run_stage(DecideStage(config, run), RunOptions(progress=False))
    return run


def fresh_status(run: RunDir) -> dict[str, Any]:
    """`status` with every summary removed first: everything counted now."""
    for path in run.tables_dir.glob(f"*/{SUMMARY_FILE}"):
        path.unlink()
    return run_status(run, run.load_config())


def test_a_remembered_status_equals_a_fresh_count(run_dir: RunDir, counted: list[str]) -> None:
    config = make_config()
    decided_run(run_dir, config, standard_clips())
    first = run_status(run_dir, config)
    assert "quality" in counted and "segment" in counted
    counted.clear()
    second = run_status(run_dir, config)
    assert counted == [] and json.dumps(second) == json.dumps(first)  # same numbers, same order
    assert json.dumps(fresh_status(run_dir)) == json.dumps(first)


def test_new_rows_a_changed_hash_or_a_damaged_summary_count_again(run_dir: RunDir, counted: list[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config()
    decided_run(run_dir, config, standard_clips())
    before = run_status(run_dir, config)
    write_rows(run_dir, config, "quality", [{"clip_id": "vidZ_0", "video_id": "vidZ", "status": "rejected",
                                             "reason": "width 10 not >= 720", "check": "width", "value": 10.0}])
    counted.clear()
    after = run_status(run_dir, config)
    assert counted == ["quality"]
    assert after["quality"]["rejected"] == before["quality"]["rejected"] + 1
    assert after["quality"]["reasons"]["width 10 not >= 720"] == 1
    # Other counting code (an edited checkout: another size or mtime of the stage's module).
    real_stamp = status_module._code_stamp
    monkeypatch.setattr(status_module, "_code_stamp", lambda cls: real_stamp(cls) + "-edited")
    counted.clear()
    assert run_status(run_dir, config)["quality"] == after["quality"] and "quality" in counted
    monkeypatch.setattr(status_module, "_code_stamp", real_stamp)
    # Another config hash for quality: other current rows, so another count.
    counted.clear()
    run_status(run_dir, make_config("quality.scene_threshold=30"))
    assert "quality" in counted
    (run_dir.table("segment").dir / SUMMARY_FILE).write_text("{not json")
    counted.clear()
    assert run_status(run_dir, config)["segment"] == after["segment"] and "segment" in counted
    # The right key but a value edited by hand: counted again, not a KeyError.
    path = run_dir.table("caption").dir / SUMMARY_FILE
    damaged = json.loads(path.read_text())
    del damaged["value"]["extras"]
    path.write_text(json.dumps(damaged))
    counted.clear()
    assert run_status(run_dir, config)["caption"] == after["caption"] and counted == ["caption"]


def test_compaction_carries_the_summary_and_never_claims_a_later_part(run_dir: RunDir, counted: list[str]) -> None:
    config = make_config()
    clips = standard_clips()
    decided_run(run_dir, config, clips[:4], clips[4:])  # two parts in every table
    before = run_status(run_dir, config)
    table = run_dir.table("quality")
    assert len(table.parts()) == 2
    counted.clear()
    compact_table(table, ("clip_id",))
    assert len(table.parts()) == 1
    assert run_status(run_dir, config) == before and counted == []
    # A part appended while a compaction ran is not in the files the summary was made for.
    live = [p.name for p in table.parts()]
    write_rows(run_dir, config, "quality", [{"clip_id": "vidZ_0", "video_id": "vidZ", "status": "failed",
                                             "reason": "MediaError: x"}])
    carry_summary(table, live, live, "compact-0-0-late.parquet")
    counted.clear()
    assert run_status(run_dir, config)["quality"]["failed"] == before["quality"]["failed"] + 1
    assert counted == ["quality"]


def test_a_summary_older_than_the_compacted_files_is_not_carried(run_dir: RunDir, counted: list[str]) -> None:
    config = make_config()
    clips = standard_clips()
    decided_run(run_dir, config, clips[:4])
    first = run_status(run_dir, config)  # a summary for the first part only
    build_run(run_dir, config, clips[4:])  # a second part nobody counted yet
    compact_table(run_dir.table("segment"), ("video_id", "clip_id"))
    counted.clear()
    after = run_status(run_dir, config)
    assert "segment" in counted and after["segment"]["ok"] > first["segment"]["ok"]
    assert after == fresh_status(run_dir)


def test_a_finished_stage_leaves_its_summary_for_status(run_dir: RunDir, counted: list[str]) -> None:
    config = make_config()
    decided_run(run_dir, config, [*standard_clips(), Clip("vidC_0", video_id="vidC")])
    assert (run_dir.table("decide").dir / SUMMARY_FILE).is_file()
    counted.clear()
    status = run_status(run_dir, config)
    assert "decide" not in counted and status["decide"] == fresh_status(run_dir)["decide"]


def test_status_works_on_a_run_directory_it_cannot_write(run_dir: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config()
    build_run(run_dir, config, standard_clips())

    def refuse(path: Path, text: str) -> Path:
        raise PermissionError(f"read-only: {path}")

    monkeypatch.setattr("ophora_data.run.summary.atomic_write_text", refuse)
    assert run_status(run_dir, config)["segment"]["ok"] == 8
    assert not list(run_dir.tables_dir.glob(f"*/{SUMMARY_FILE}"))
