"""Fixtures every test area shares: real data (skipped when absent) and tiny generated media."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ophora_data.config import Config, resolve_config
from ophora_data.run.workdir import RunDir

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


@pytest.fixture(autouse=True)
def _no_secrets_or_hub(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never reach the Hub, never see a real token, and never read another test's (or an earlier
    run's) `load_dataset` cache: two releases with the same layout would share a cache entry there."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for name in ("HF_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path_factory.mktemp("hf-datasets-cache")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))  # read when `datasets` is first imported
    if "datasets.config" in sys.modules:  # already imported: its module-level setting is what counts
        monkeypatch.setattr(sys.modules["datasets.config"], "HF_DATASETS_CACHE", cache)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """`../shared/realdata`; tests using it skip cleanly when it is absent."""
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    return REALDATA


@pytest.fixture
def run_dir(tmp_path: Path) -> RunDir:
    return RunDir(tmp_path / "run").create()


@pytest.fixture
def config() -> Config:
    return resolve_config()


def make_config(*overrides: str) -> Config:
    return resolve_config(None, None, list(overrides))


MakeVideo = Callable[..., Path]


def generate_video(
    out: Path,
    duration: float = 3.0,
    size: str = "320x240",
    fps: int = 25,
    audio: bool = True,
    extra: list[str] | None = None,
) -> Path:
    """A small H.264 test video from ffmpeg lavfi (testsrc2, plus a sine tone when `audio`)."""
    argv = [
        "ffmpeg",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={fps}:duration={duration}",
    ]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}", "-c:a", "aac", "-shortest"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *(extra or []), str(out)]
    subprocess.run(argv, check=True)
    return out


@pytest.fixture
def make_video(tmp_path: Path) -> MakeVideo:
    """`make_video(name, duration=..., size=..., fps=..., audio=..., extra=[...])` in the test's tmp dir."""

    def _make(
        name: str = "video.mp4",
        duration: float = 3.0,
        size: str = "320x240",
        fps: int = 25,
        audio: bool = True,
        extra: list[str] | None = None,
    ) -> Path:
        return generate_video(tmp_path / name, duration, size, fps, audio, extra)

    return _make


@pytest.fixture(scope="session")
def media12(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Field case 12's media (MPEG-TS with a start offset, MP4 with an edit list), generated once."""
    from tests.helpers.fieldcases import CASE_12, case_media

    return case_media(CASE_12, tmp_path_factory.mktemp("media12"))


@pytest.fixture(scope="session")
def media14(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Field case 14's media (WebM without a duration, audio longer than video), generated once."""
    from tests.helpers.fieldcases import CASE_14, case_media

    return case_media(CASE_14, tmp_path_factory.mktemp("media14"))
