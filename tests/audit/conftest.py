"""Fixtures of the audit tests: a decided run with media."""

from __future__ import annotations

import pytest

from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages.decide import DecideStage
from tests.audit.fakerun import build_run, standard_clips
from tests.conftest import MakeVideo, make_config


@pytest.fixture
def decided_run(run_dir: RunDir, make_video: MakeVideo) -> RunDir:
    """The standard clips, decided, with a source video per video id and cut clip files."""
    config = make_config()
    videos = {"vidA": make_video("a.mp4", duration=22, size="160x120", audio=False),
              "vidB": make_video("b.mp4", duration=21, size="160x120", audio=False,
                                 extra=["-vf", "hue=h=120"])}
    build_run(run_dir, config, standard_clips(), videos)
    run_stage(DecideStage(config, run_dir), RunOptions(progress=False))
    return run_dir
