from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.media.frames import get_reader, iter_frames, sample_frames
from ophora_data.media.runner import MediaError
from ophora_data.media.timeline import read_timeline
from tests.helpers.media import (
    closest_frame,
    decode_all,
    frame_distance,
    frame_times,
    make_cut_video,
    make_vfr_video,
    rotate_tag,
)

READERS = ["torchcodec", "decord"]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 3 s at 25 fps = 75 frames; GOP 50 so sampling has to cross a keyframe.
    return make_cut_video(tmp_path_factory.mktemp("frames") / "v.mp4", duration=3.0, cut_at=None, audio=False)


@pytest.fixture(scope="module")
def truth(video: Path) -> np.ndarray:
    return decode_all(video)


def assert_same_frames(sampled: np.ndarray, truth: np.ndarray, indices: list[int]) -> None:
    assert sampled.dtype == np.uint8 and sampled.shape == (len(indices), *truth.shape[1:])
    for frame, index in zip(sampled, indices, strict=True):
        # Colour conversion may differ by a level or two between decoders, never a whole frame.
        assert closest_frame(frame, truth) == index
        assert frame_distance(frame, truth[index]) < 2.0


@pytest.mark.parametrize("reader", READERS)
def test_count_is_uniform_and_exact(video: Path, truth: np.ndarray, reader: str) -> None:
    got = sample_frames(video, count=5, reader=reader)
    assert got.indices == [7, 22, 37, 52, 67]  # the middle of five equal spans of 75 frames
    assert got.total_frames == 75 and got.fps == pytest.approx(25.0)
    assert got.timestamps == pytest.approx([i / 25 for i in got.indices])
    assert_same_frames(got.frames, truth, got.indices)


@pytest.mark.parametrize("reader", READERS)
def test_every_n_and_fps(video: Path, truth: np.ndarray, reader: str) -> None:
    every = sample_frames(video, every_n=20, reader=reader)
    assert every.indices == [0, 20, 40, 60]
    assert_same_frames(every.frames, truth, every.indices)
    at_fps = sample_frames(video, fps=2.0, reader=reader)
    assert at_fps.indices == [0, 12, 25, 37, 50, 62]  # ticks at 0, 0.5, ..., 2.5 s
    assert_same_frames(at_fps.frames, truth, at_fps.indices)


def test_count_larger_than_video_returns_each_frame_once(video: Path) -> None:
    got = sample_frames(video, count=500)
    assert got.indices == list(range(75))


def test_exactly_one_rule(video: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        sample_frames(video)
    with pytest.raises(ValueError, match="exactly one"):
        sample_frames(video, count=2, fps=1.0)
    with pytest.raises(ValueError, match="unknown frame reader"):
        sample_frames(video, count=2, reader="nope")


def test_variable_frame_rate_uses_real_timestamps(tmp_path: Path) -> None:
    video = make_vfr_video(tmp_path / "vfr.mp4")
    truth, times = decode_all(video), frame_times(video)
    assert len(truth) == len(times) == 80  # 20 frames at 10 fps + 60 at 30 fps
    got = sample_frames(video, fps=5.0)
    # At 5 fps: one frame per 0.2 s in both halves, although the frame rate changes.
    assert got.timestamps == pytest.approx(
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0, 3.2, 3.4, 3.6, 3.8],
        abs=0.02,
    )
    assert got.indices[:3] == [0, 2, 4] and got.indices[10:13] == [20, 26, 32]
    assert_same_frames(got.frames, truth, got.indices)


@pytest.mark.parametrize("reader", READERS)
def test_rotation_gives_display_orientation(video: Path, tmp_path: Path, reader: str) -> None:
    rotated = rotate_tag(video, tmp_path / "rot.mp4", 90)
    assert read_timeline(rotated).rotation in (90, 270)
    truth = decode_all(rotated)  # ffmpeg applies the rotation
    got = sample_frames(rotated, count=3, reader=reader)
    assert got.frames.shape[1:3] == (320, 240)
    assert_same_frames(got.frames, truth, got.indices)


def test_iter_frames_yields_every_frame_in_order(video: Path, truth: np.ndarray) -> None:
    batches = list(iter_frames(video, batch_size=32))
    assert [len(b.indices) for b in batches] == [32, 32, 11]
    indices = [i for b in batches for i in b.indices]
    assert indices == list(range(75))
    assert_same_frames(np.concatenate([b.frames for b in batches]), truth, indices)


def test_undecodable_files_raise_media_error(tmp_path: Path, video: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError):
        sample_frames(garbage, count=4)
    with pytest.raises(MediaError, match="not found"):
        sample_frames(tmp_path / "missing.mp4", count=4)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(video.read_bytes()[:2000])
    with pytest.raises(MediaError):
        sample_frames(truncated, count=4)


def test_default_reader_is_torchcodec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPHORA_FRAME_READER", raising=False)
    assert get_reader().name == "torchcodec"
    monkeypatch.setenv("OPHORA_FRAME_READER", "decord")
    assert get_reader().name == "decord"
