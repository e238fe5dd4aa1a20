"""The README's main job, end to end: the offline demo produces a release `load_dataset` reads."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_demo_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ophora_data.demo import run as demo_run
    from ophora_data.stages.registry import stage_names

    results: list = []
    real_print_result = demo_run.print_result

    def record(result, *args, **kwargs):
        results.append(result)
        return real_print_result(result, *args, **kwargs)

    monkeypatch.setattr(demo_run, "print_result", record)
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "-w", str(workdir)])
    assert result.exit_code == 0, result.output
    status = json.loads(CliRunner().invoke(app, ["status", "-w", str(workdir), "--json"]).output)
    assert status["ingest"]["ok"] == 1 and status["probe"]["ok"] == 1
    assert all(info["failed"] == 0 and info["pending"] in (0, None) for info in status.values()), status
    # Six narrated sentences, one of them chit-chat; one clip carries a burned-in patient label.
    assert status["segment"]["ok"] == 6
    assert status["caption"]["reasons"] == {"not procedural narration": 1}
    assert status["score"]["extras"]["skipped_clips"] == 5
    assert status["decide"]["extras"]["kept"] == 5 and status["decide"]["extras"]["strict"] == 4
    assert (workdir / "report" / "index.html").is_file()

    from datasets import load_dataset

    release = workdir / "release"
    default = load_dataset(str(release), "default", split="train", streaming=True)
    records = list(default)
    assert len(records) == 5 and all(r["txt"] and r["mp4"] is not None for r in records)
    assert len(load_dataset(str(release), "strict", split="train")) == 4
    assert "load_dataset" in (release / "README.md").read_text()
    assert [r.stage for r in results] == stage_names() and all(r.processed for r in results[:2])
    release_files = file_hashes(release)
    assert {"README.md", "data/train-00000.tar"} <= set(release_files)

    # A rerun resumes: no stage processes anything, and the release is byte for byte the same.
    results.clear()
    again = CliRunner().invoke(app, ["demo", "-w", str(workdir)])
    assert again.exit_code == 0, again.output
    assert [r.stage for r in results] == stage_names()
    assert {r.stage: r.processed for r in results} == dict.fromkeys(stage_names(), 0)
    rebuilt = file_hashes(release)
    names = release_files.keys() | rebuilt.keys()
    changed = sorted(name for name in names if release_files.get(name) != rebuilt.get(name))
    assert changed == [], f"the rerun changed release files: {changed}"
