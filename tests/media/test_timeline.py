"""Frame timelines and where a frame-exact cut seeks and trims (no media needed)."""

from __future__ import annotations

import pytest

from ophora_data.media.cutter import UNINDEXED_SEEK_MARGIN_S, seek_point
from ophora_data.media.ffmpeg import pts_text
from ophora_data.media.timeline import Timeline, packet_times


def timeline(container: str, frames: int = 300, fps: float = 30.0, gop: int = 60, start: float = 0.0
             ) -> Timeline:
    # Times as ffprobe prints them: six decimals.
    return Timeline(times=tuple(round(start + i / fps, 6) for i in range(frames)),
                    keyframes=tuple(range(0, frames, gop)), start_time=0.0, fps=fps, rotation=0,
                    width=320, height=240, container=container)


def test_trim_points_round_onto_the_right_frame_in_a_one_tick_per_frame_time_base() -> None:
    # AVI/MXF: time base 1/30. ffmpeg's trim rounds a time to the nearest tick and keeps frames with
    # start_pts <= pts < end_pts, so the boundary before frame k must round to tick k.
    line = timeline("avi")
    for k in range(1, 300):
        assert round(float(pts_text(line.cut_point_before(k))) * 30) == k, k
    # A midpoint written with six decimals sits on the rounding edge and falls onto the frame before.
    assert any(round(float(pts_text(line.midpoint_before(k))) * 30) == k - 1 for k in range(1, 300))


def test_seek_points() -> None:
    mp4, ts = timeline("mov,mp4,m4a,3gp,3g2,mj2"), timeline("mpegts", start=0.021333)
    assert seek_point(mp4, 30) is None and seek_point(ts, 59) is None  # the first keyframe: decode from 0
    assert seek_point(mp4, 130) == pytest.approx(mp4.midpoint_before(130))  # an index finds the keyframe
    # Bisecting timestamps may land after the keyframe: aim before the keyframe frame 130 needs (120).
    assert seek_point(ts, 130) == pytest.approx(ts.times[120] - UNINDEXED_SEEK_MARGIN_S)
    assert timeline("mpeg").seeks_to_keyframes is False and timeline("matroska,webm").seeks_to_keyframes


def test_packet_times_drop_discarded_packets_and_give_up_without_pts() -> None:
    packets = [{"pts_time": "-0.066667", "flags": "KD_"}, {"pts_time": "0.000000", "flags": "K__"},
               {"pts_time": "0.066667", "flags": "___"}, {"pts_time": "0.033333", "flags": "___"}]
    assert packet_times(packets) == [(0.0, True), (0.066667, False), (0.033333, False)]
    assert packet_times([*packets, {"pts_time": "N/A", "dts_time": "0.1", "flags": "___"}]) is None
