from __future__ import annotations

import pytest

from ophora_data.media.cutplan import (
    ClipWindow,
    decoded_frames,
    frame_window,
    keyframe_before,
    output_size,
    plan_passes,
)
from ophora_data.media.timeline import Timeline


def cfr(frames: int = 250, fps: float = 25.0, gop: int = 50) -> Timeline:
    return Timeline(
        times=tuple(i / fps for i in range(frames)),
        keyframes=tuple(range(0, frames, gop)),
        start_time=0.0,
        fps=fps,
        rotation=0,
        width=320,
        height=240,
    )


def window(name: str, first: int, stop: int) -> ClipWindow:
    return ClipWindow(name, first / 25, stop / 25, first, stop)


def test_frame_window_keeps_frames_in_half_open_interval() -> None:
    timeline = cfr()
    assert (frame_window(timeline, "a", 1.0, 2.0).first, frame_window(timeline, "a", 1.0, 2.0).stop) == (
        25,
        50,
    )
    w = frame_window(timeline, "b", 1.01, 1.99)
    assert (w.first, w.stop) == (
        26,
        50,
    )  # 1.04 s is the first frame at/after 1.01; 1.96 s the last before 1.99
    assert timeline.midpoint_before(26) == pytest.approx(1.02)
    assert frame_window(timeline, "c", 20.0, 21.0).frames == 0


def test_keyframe_before() -> None:
    assert keyframe_before((0, 50, 100), 49) == 0 and keyframe_before((0, 50, 100), 50) == 50
    assert keyframe_before((), 7) == 0


def test_seek_never_merges_and_single_pass_merges_up_to_max_outputs() -> None:
    windows = [window(f"w{i}", i * 20, i * 20 + 10) for i in range(5)]
    keys = cfr().keyframes
    assert [len(p.windows) for p in plan_passes(windows, keys, "seek", 30, 8)] == [1] * 5
    assert [len(p.windows) for p in plan_passes(windows, keys, "single_pass", 30, 2)] == [2, 2, 1]


def test_auto_merges_when_the_gap_costs_less_than_a_seek() -> None:
    keys = cfr().keyframes  # keyframes every 50 frames
    overlapping = [window("a", 10, 60), window("b", 40, 90)]
    assert [p.mode for p in plan_passes(overlapping, keys, "auto", 0, 8)] == ["single_pass"]
    # b starts 5 frames after a keyframe: seeking decodes 5 frames, bridging the gap 80.
    far = [window("a", 10, 60), window("b", 155, 200)]
    assert [p.mode for p in plan_passes(far, keys, "auto", 30, 8)] == ["seek", "seek"]
    # b starts 45 frames after its keyframe: the 35-frame gap is cheaper than 45 + 30.
    near = [window("a", 10, 60), window("b", 95, 120)]
    passes = plan_passes(near, keys, "auto", 30, 8)
    assert len(passes) == 1 and decoded_frames(passes, keys) == 120
    assert decoded_frames(plan_passes(near, keys, "seek", 30, 8), keys) == 60 + 70


def test_output_size_caps_the_short_side_and_keeps_dimensions_even() -> None:
    assert output_size(1920, 1080, 1080) == (1920, 1080)
    assert output_size(3840, 2160, 1080) == (1920, 1080)
    assert output_size(2160, 3840, 1080) == (1080, 1920)  # portrait 4K -> portrait 1080p
    assert output_size(321, 241, 1080) == (320, 240)
    assert output_size(640, 360, 240) == (426, 240)
