"""Frames through ffmpeg pipes as I420: the same frames as the frame readers, blurred in all planes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.config.privacy import PrivacyConfig
from ophora_data.media.frames import get_reader
from ophora_data.media.rawvideo import RawVideoEncoder
from ophora_data.media.runner import MediaError
from ophora_data.media.timeline import read_timeline
from ophora_data.privacy.boxes import Box
from ophora_data.privacy.redact import redact_i420
from ophora_data.privacy.yuv import YuvReader, planes, read_rgb_frames, to_rgb
from tests.helpers.media import make_cut_video


def test_reader_yields_every_frame_of_the_timeline_in_order(tmp_path: Path) -> None:
    clip = make_cut_video(tmp_path / "c.mp4", duration=1.0, cut_at=0.5, size="160x120", audio=False)
    timeline = read_timeline(clip)
    reader = YuvReader(clip)
    frames = dict(reader)
    assert sorted(frames) == list(range(timeline.total_frames)) and timeline.total_frames >= 25
    assert (reader.width, reader.height) == (160, 120) and frames[0].size == 160 * 120 * 3 // 2
    truth = get_reader().read(clip, timeline, [7, 8, 9])
    mine = to_rgb(frames[8], 160, 120).astype(int)
    # The same frame (testsrc2 moves every frame): far closer to frame 8 than to its neighbours.
    errors = [np.abs(mine - t.astype(int)).mean() for t in truth]
    assert errors[1] < 3 and errors[1] * 3 < min(errors[0], errors[2])
    assert sorted(read_rgb_frames(clip, [3, 20])) == [3, 20]
    assert [i for i, _ in YuvReader(clip, stop=4)] == [0, 1, 2, 3]  # stops early, no error


def test_odd_sizes_are_cropped_to_even(tmp_path: Path) -> None:
    clip = make_cut_video(tmp_path / "odd.mp4", duration=0.4, cut_at=None, size="161x121", audio=False)
    reader = YuvReader(clip)
    assert (reader.width, reader.height) == (160, 120) and len(list(reader)) == 10


def test_an_undecodable_file_raises(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    with pytest.raises(MediaError):
        list(YuvReader(bad))


def test_encoder_round_trip_and_blur_in_every_plane(tmp_path: Path) -> None:
    width, height = 64, 48
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, width * height * 3 // 2, dtype=np.uint8)
    box = Box(9, 7, 30, 20, "face")
    out = redact_i420(frame, width, height, [box], PrivacyConfig())
    assert out is not frame and redact_i420(frame, width, height, [], PrivacyConfig()) is frame
    for before, after, (x0, y0, x1, y1) in zip(planes(frame, width, height), planes(out, width, height),
                                               [(9, 7, 39, 27), (4, 3, 20, 14), (4, 3, 20, 14)], strict=True):
        outside = np.ones(before.shape, bool)
        outside[y0:y1, x0:x1] = False
        assert np.array_equal(before[outside], after[outside])
        assert after[y0:y1, x0:x1].std() < 0.3 * before[y0:y1, x0:x1].std()
    with RawVideoEncoder(width, height, 10.0, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                               str(tmp_path / "e.mp4")], pix_fmt="yuv420p") as encoder:
        for _ in range(5):
            encoder.write(out)
    assert read_timeline(tmp_path / "e.mp4").total_frames == 5
    with (pytest.raises(MediaError, match="ffmpeg encode failed"),
          RawVideoEncoder(width, height, 10.0, ["-c:v", "no_such_codec", str(tmp_path / "f.mp4")],
                          pix_fmt="yuv420p") as broken):
        for _ in range(50):
            broken.write(out)


def test_a_decoder_that_disagrees_with_the_packet_index_fails(tmp_path: Path) -> None:
    import dataclasses

    clip = make_cut_video(tmp_path / "c.mp4", duration=0.4, cut_at=None, size="160x120", audio=False)
    timeline = read_timeline(clip)
    longer = dataclasses.replace(timeline, times=(*timeline.times, timeline.times[-1] + 0.04))
    with pytest.raises(MediaError, match=r"ffmpeg decodes 10 frames of c.mp4, its packet index has 11"):
        list(YuvReader(clip, longer))
    shorter = dataclasses.replace(timeline, times=timeline.times[:-1])
    with pytest.raises(MediaError, match=r"decodes more than 9 frames"):
        list(YuvReader(clip, shorter))
