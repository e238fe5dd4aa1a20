"""The README's main job, end to end: the offline demo produces a release `load_dataset` reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def test_demo_end_to_end(tmp_path: Path) -> None:
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
    # A rerun resumes: nothing left to do, same release.
    again = CliRunner().invoke(app, ["demo", "-w", str(workdir)])
    assert again.exit_code == 0 and "processed 0" in again.output
