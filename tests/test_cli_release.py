"""`ophora-data build | publish | export-trainer` through the CLI: exit codes, printed load line, no token."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from builders import publish as publish_module
from cli import app
from tests.builders.runfactory import (
    default_specs,
    make_release_run,
    release_config,
)
from tests.helpers.fake_hub import FakeHfApi

runner = CliRunner()
TOKEN = "hf_" + "Zt5mQ2wX8pL4nR7vB1cK9dF3gH6jS0aE"



def test_build_publish_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_release_run(tmp_path / "run", release_config())
    built = runner.invoke(app, ["build", "-w", str(run.root), "--repo", "lab/ophora-mini"])
    assert built.exit_code == 0, built.output
    assert f'ds = load_dataset("{run.release_dir}", "default", split="train")' in built.output
    assert "release built and verified" in built.output
    assert 'load_dataset("lab/ophora-mini", "default"' in (run.release_dir / "README.md").read_text()

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub = FakeHfApi(fail_on_commit=1)
    monkeypatch.setattr(publish_module, "make_api", lambda token: hub)
    failed = runner.invoke(app, ["publish", "-w", str(run.root), "--public"])
    assert failed.exit_code == 1 and "run publish again" in failed.output
    done = runner.invoke(app, ["publish", "-w", str(run.root), "--public", "--gated", "auto"])
    assert done.exit_code == 0, done.output
    assert 'load_dataset("lab/ophora-mini", "default", split="train", streaming=True)' in done.output
    repo = hub.repos["lab/ophora-mini"]
    assert repo.private is False and repo.gated == "auto" and "README.md" in repo.files
    assert TOKEN not in failed.output + done.output
    assert not any(TOKEN.encode() in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())

    export = runner.invoke(app, ["export-trainer", "-w", str(run.root), "--out", str(tmp_path / "ft"),
                                 "--subset", "strict"])
    assert export.exit_code == 0, export.output
    assert (tmp_path / "ft" / "prompts.txt").read_text().splitlines() == [
        "Make a clear corneal incision with the keratome.", "Complete the capsulorhexis with forceps."]


def test_build_refusal_exits_1_naming_the_clip(tmp_path: Path) -> None:
    specs = default_specs()
    specs[3].verified = False
    run = make_release_run(tmp_path / "run", release_config(), specs)
    result = runner.invoke(app, ["build", "-w", str(run.root)])
    assert result.exit_code == 1
    assert "vidAAAAAAAA_10: privacy verification did not pass" in result.output
    assert not run.release_dir.exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["build", "-w", str(tmp_path / "nothing")]).exit_code == 2
    run = make_release_run(tmp_path / "run", release_config("build.verify=false"))
    assert runner.invoke(app, ["publish", "-w", str(run.root)]).exit_code == 2  # no repo id anywhere
    bad_gate = runner.invoke(app, ["publish", "-w", str(run.root), "--repo", "a/b", "--gated", "sometimes"])
    assert bad_gate.exit_code == 2
    assert runner.invoke(app, ["export-trainer", "-w", str(run.root), "--out", str(tmp_path / "e")]).exit_code == 1
