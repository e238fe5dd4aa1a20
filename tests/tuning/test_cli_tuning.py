from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_sample_with_missing_column_is_a_usage_error(tmp_path: Path) -> None:
    prompts = tmp_path / "p.csv"
    prompts.write_text("phase prompt,clip id\nIncision,c1\n")
    result = runner.invoke(
        app, ["sample", "--model", "x", "--prompts", str(prompts), "--out", str(tmp_path / "o"), "--device", "cpu"]
    )
    assert result.exit_code == 2
    assert "no column" in result.output and "caption prompt" in result.output


def test_tune_without_gpu_explains_the_cpu_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = runner.invoke(app, ["tune", "--out", str(tmp_path / "o"), "--data", str(tmp_path)])
    assert result.exit_code == 1 and "--device cpu" in result.output


def test_tune_bad_set_names_the_field(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tune", "--out", str(tmp_path / "o"), "--set", "tune.frames=10"])
    assert result.exit_code == 2 and "tune.frames" in result.output
