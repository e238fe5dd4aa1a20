"""Temporal smoothing and box arithmetic: no frame between two samples is left unboxed."""

from __future__ import annotations

from ophora_data.privacy.boxes import Box, ClipDetections, merge_lines
from ophora_data.privacy.smoothing import boxes_per_frame, frames_blurred


def detections(frames: dict[int, list[Box]], total: int = 30) -> ClipDetections:
    return ClipDetections(width=100, height=80, fps=25.0, total_frames=total, frames=frames)


def test_a_box_is_held_over_the_gap_on_both_sides() -> None:
    face = Box(10, 10, 20, 20, "face")
    per_frame = boxes_per_frame(detections({0: [], 5: [face], 10: []}), hold=5, dilation=0.0)
    assert [i for i, boxes in enumerate(per_frame) if boxes] == list(range(0, 11))
    assert per_frame[3] == [face]
    assert frames_blurred(per_frame) == 11


def test_consecutive_detections_leave_no_unblurred_frame_between_samples() -> None:
    every_n = 5
    moving = {i: [Box(i, 10, 20, 20, "face")] for i in range(0, 30, every_n)}
    per_frame = boxes_per_frame(detections(moving), hold=every_n, dilation=0.1)
    assert all(per_frame[i] for i in range(30))
    # Between samples 5 and 10 both neighbouring boxes apply (the face may be anywhere between).
    assert {b.x for b in per_frame[7]} == {Box(5, 10, 20, 20, "face").dilated(0.1, 100, 80).x,
                                           Box(10, 10, 20, 20, "face").dilated(0.1, 100, 80).x}


def test_hold_zero_blurs_only_the_detected_frames() -> None:
    per_frame = boxes_per_frame(detections({4: [Box(0, 0, 5, 5, "text")]}, total=10), hold=0, dilation=0.0)
    assert [i for i, boxes in enumerate(per_frame) if boxes] == [4]


def test_dilation_grows_boxes_and_clips_them_to_the_frame() -> None:
    grown = Box(90, 70, 10, 10, "face").dilated(0.5, width=100, height=80)
    assert (grown.x, grown.y, grown.w, grown.h) == (85, 65, 15, 15)
    inside = Box(40, 40, 20, 10, "text").dilated(0.25, width=100, height=80)
    assert (inside.x, inside.y, inside.w, inside.h) == (35, 37, 30, 16)


def test_scaled_maps_boxes_from_a_downscaled_frame() -> None:
    assert Box(10, 20, 30, 40, "face", 0.9).scaled(2.0) == Box(20, 40, 60, 80, "face", 0.9)


def test_merge_lines_joins_words_of_one_line_but_not_separate_lines() -> None:
    words = [Box(10, 10, 40, 12, "text"), Box(60, 11, 30, 12, "text"), Box(10, 60, 40, 12, "text")]
    merged = sorted(merge_lines(words), key=lambda b: b.y)
    assert [(b.x, b.y, b.w, b.h) for b in merged] == [(10, 10, 80, 13), (10, 60, 40, 12)]


def test_detections_round_trip_through_json() -> None:
    found = detections({0: [Box(1, 2, 3, 4, "face", 0.5)], 5: []})
    again = ClipDetections.from_json(found.to_json())
    assert again.frames == found.frames and again.total_frames == 30
    assert found.count("face") == 1 and found.frames_with("face") == [0] and found.any
    merged = found.merged(detections({5: [Box(0, 0, 2, 2, "text")]}))
    assert merged.count("text") == 1 and merged.count("face") == 1
