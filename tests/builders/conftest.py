"""Fixtures for the release builder tests: a crafted run directory with tiny redacted clips."""

from __future__ import annotations

from pathlib import Path

import pytest

from ophora_data.run.workdir import RunDir
from tests.builders.runfactory import make_release_run, release_config


@pytest.fixture
def release_run(tmp_path: Path) -> RunDir:
    return make_release_run(tmp_path / "run", release_config())
