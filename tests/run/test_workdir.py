from __future__ import annotations

from pathlib import Path

from ophora_data.run.workdir import RunDir


def test_paths_in_rows_are_relative_to_the_run_and_resolve_back(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run").create()
    clip = run.clip("v_1")
    assert run.relative(clip) == "media/clips/v_1.mp4"
    assert run.resolve("media/clips/v_1.mp4") == clip
    outside = tmp_path / "elsewhere.mp4"
    assert run.relative(outside) == str(outside) and run.resolve(str(outside)) == outside
    assert run.resolve(None) is None and run.resolve("") is None


def test_clip_of_a_cut_row(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    assert run.clip_of({"clip_id": "v_2", "path": "media/clips/v_2.mp4"}) == run.clip("v_2")
    assert run.clip_of({"clip_id": "v_3"}) == run.clip("v_3")
