from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import MakeVideo

runner = CliRunner()


def command_paths() -> list[list[str]]:
    """Every command and sub-command registered on the app."""
    import typer.main

    group = typer.main.get_command(app)
    paths = []
    for name, command in group.commands.items():
        paths.append([name])
        for sub in getattr(command, "commands", {}):
            paths.append([name, sub])
    return paths


def test_core_verbs_are_registered() -> None:
    names = {p[0] for p in command_paths()}
    assert {"ingest", "probe", "run", "status", "demo"} <= names


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_invalid_set_exits_2_naming_the_field(tmp_path: Path) -> None:
    result = runner.invoke(app, ["probe", "-w", str(tmp_path / "w"), "--set", "quality.width.min=wide"])
    assert result.exit_code == 2
    assert "quality.width.min" in result.output


def test_unknown_until_is_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "-w", str(tmp_path / "w"), "--until", "nope"])
    assert result.exit_code == 2 and "not a stage" in result.output


def test_run_then_status_json(tmp_path: Path, make_video: MakeVideo) -> None:
    video = make_video("a.mp4", duration=1.0)
    workdir = tmp_path / "w"
    result = runner.invoke(
        app, ["run", str(video), "https://youtube.com/playlist?list=PLx", "-w", str(workdir), "--until", "probe"]
    )
    assert result.exit_code == 0, result.output
    assert (workdir / "config.resolved.yaml").exists()
    status = json.loads(runner.invoke(app, ["status", "-w", str(workdir), "--json"]).output)
    assert status["ingest"]["ok"] == 1 and status["ingest"]["rejected"] == 1
    assert status["probe"] == {**status["probe"], "ok": 1, "failed": 0, "pending": 0, "done": True}
    assert any("playlist" in reason for reason in status["ingest"]["reasons"])
    # Rerun resumes: nothing new to do.
    again = runner.invoke(app, ["run", "-w", str(workdir), "--until", "probe"])
    assert again.exit_code == 0 and "probe: processed 0" in again.output and "1 already done" in again.output


@pytest.mark.parametrize("command", [["status"], ["compact"], ["refilter"], ["audit", "query", "SELECT 1"],
                                     ["build"]])
def test_commands_that_read_a_run_refuse_a_folder_that_is_not_one(tmp_path: Path, command: list[str]) -> None:
    """A mistyped path, the project folder or a file must not look like an empty run (nor become one)."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    for folder in ("nope", "empty", "file.txt"):
        result = runner.invoke(app, [*command, "-w", str(tmp_path / folder)])
        assert result.exit_code == 2, (command, folder, result.output)
        assert "no run directory with tables at" in result.output
    assert not (tmp_path / "nope").exists() and not list((tmp_path / "empty").iterdir())
    assert "an existing run directory" in runner.invoke(app, [*command[:2 if command[0] == "audit" else 1],
                                                              "--help"]).output


def test_unexpected_errors_print_one_redacted_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import cli

    secret = "sk-test-0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    def explode() -> None:
        raise RuntimeError(f"server rejected key {secret}")

    monkeypatch.setattr(cli, "app", explode)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "RuntimeError" in err and secret not in err and "Traceback" not in err
