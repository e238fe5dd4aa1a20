"""Fixtures for the release builder tests: a crafted run directory with tiny redacted clips."""

from __future__ import annotations

from pathlib import Path

import pytest

from ophora_data.run.workdir import RunDir
from tests.builders.runfactory import install_identifier_finder, install_stand_ins, make_release_run, release_config


@pytest.fixture(autouse=True)
def _stages_and_deid(monkeypatch: pytest.MonkeyPatch) -> None:
    install_stand_ins(monkeypatch)
    install_identifier_finder(monkeypatch)


@pytest.fixture
def release_run(tmp_path: Path) -> RunDir:
    return make_release_run(tmp_path / "run", release_config())
