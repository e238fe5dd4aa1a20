"""Coarse-to-fine sampling (privacy/scan.py): the grid, matching, abrupt changes, and the boxes
that cover the frames between samples."""

from __future__ import annotations

import pytest

from ophora_data.privacy.boxes import Box, ClipDetections
from ophora_data.privacy.scan import (
    Scan,
    abrupt_changes,
    coarse_frames,
    coarse_step,
    confirm_weak_faces,
    match,
    text_bands,
)
from ophora_data.privacy.smoothing import boxes_per_frame


@pytest.mark.parametrize(("fps", "every_n", "seconds", "step"), [
    (30.0, 5, 0.5, 15), (25.0, 5, 0.5, 10), (59.94, 5, 0.5, 25), (30.0, 5, 0.0, 5), (10.0, 5, 0.5, 5),
    (25.0, 8, 0.5, 8), (30.0, 2, 1.0, 30),
    # The default, 5/6 s (the shortest subtitle event), written as 0.8333: 19.9992 frames at 24 fps are 20.
    (24.0, 5, 0.8333, 20), (25.0, 5, 0.8333, 20), (30.0, 5, 0.8333, 25), (59.94, 5, 0.8333, 45),
    (24.0, 8, 0.8333, 16), (30.0, 8, 0.8333, 24), (60.0, 8, 0.8333, 48)])
def test_coarse_step_is_a_multiple_of_every_n_within_the_interval(fps: float, every_n: int, seconds: float,
                                                                  step: int) -> None:
    assert coarse_step(fps, every_n, seconds) == step


def test_coarse_frames_end_with_the_last_frame_unless_the_hold_reaches_it() -> None:
    assert coarse_frames(165, 15, 5) == [*range(0, 151, 15), 164]
    assert coarse_frames(155, 15, 5) == list(range(0, 151, 15))  # 154 is within 5 frames of 150
    assert coarse_frames(1, 15, 5) == [0]


def test_match_pairs_boxes_of_one_kind_by_overlap() -> None:
    a = [Box(0, 0, 10, 10, "text"), Box(50, 50, 10, 10, "face"), Box(80, 0, 10, 10, "text")]
    b = [Box(1, 0, 10, 10, "text"), Box(50, 50, 10, 10, "text"), Box(200, 0, 5, 5, "text")]
    pairs, gone, came = match(a, b, 0.3)
    assert pairs == [(a[0], b[0])]
    assert gone == [a[1], a[2]] and came == [b[1], b[2]]


def test_abrupt_changes_are_isolated_spikes_not_motion() -> None:
    steady = [1.0] * 20
    assert abrupt_changes(steady, steady, ratio=4.0, floor=1.0) == 0
    on_off = [0.2] * 5 + [3.0] + [0.2] * 6 + [3.0] + [0.2] * 5  # an overlay switching on, then off
    assert abrupt_changes(on_off, on_off, ratio=4.0, floor=1.0) == 2
    burst = [0.3] * 5 + [3.0, 3.5, 3.2, 3.1] + [0.3] * 5  # a fast instrument: several frames in a row
    assert abrupt_changes(burst, burst, ratio=4.0, floor=1.0) == 0
    faint = [0.01] * 5 + [0.5] + [0.01] * 5  # under the floor: encoder noise
    assert abrupt_changes(faint, faint, ratio=4.0, floor=1.0) == 0
    edge = [3.0] + [0.2] * 5 + [3.0]  # first and last are neighbours only
    assert abrupt_changes(edge, edge, ratio=4.0, floor=1.0) == 0


def test_text_bands_span_the_width_and_merge() -> None:
    boxes = [Box(10, 100, 50, 20, "text"), Box(200, 110, 30, 20, "text"), Box(0, 0, 5, 4, "text")]
    assert text_bands(boxes, 320, 240) == [(0, 0, 320, 12), (0, 90, 320, 50)]


def scan(frames: dict[int, list[Box]], coarse: list[int], examined: dict[str, set[int]], total: int = 31,
         step: int = 15) -> Scan:
    return Scan(detected=ClipDetections(320, 240, 30.0, total, frames), coarse_step=step, coarse=coarse,
                examined=examined)


def test_a_static_overlay_is_bridged_between_coarse_samples_without_detection() -> None:
    stamp = Box(10, 10, 60, 20, "text")
    moved = Box(14, 10, 60, 20, "text")
    plan = scan({0: [stamp], 15: [moved], 30: [moved]}, [0, 15, 30], {"text": {0, 15, 30}})
    redacted = plan.redacted(every_n=5, min_iou=0.3)
    hull = Box(10, 10, 64, 20, "text")
    assert redacted.frames[5] == [hull] and redacted.frames[10] == [hull]
    per_frame = boxes_per_frame(redacted, hold=5, dilation=0.0)
    assert all(per_frame[i] for i in range(31)), "no frame between samples is left unblurred"


def test_unmatched_text_is_held_over_its_interval_and_nothing_beyond() -> None:
    caption = Box(20, 200, 100, 20, "text")
    plan = scan({0: [], 15: [caption], 30: []}, [0, 15, 30], {"text": {0, 15, 30}}, total=46)
    redacted = plan.redacted(every_n=5, min_iou=0.3)
    # It came somewhere after 0 and went before 30: every frame between is covered, at its place.
    assert all(redacted.frames[i] == [caption] for i in (5, 10, 20, 25))
    assert redacted.frames[0] == [] and redacted.frames[30] == []
    per_frame = boxes_per_frame(redacted, hold=5, dilation=0.0)
    assert all(per_frame[i] for i in range(0, 31)) and not any(per_frame[i] for i in range(36, 46))


def test_a_face_missed_at_one_sample_is_bridged() -> None:
    face = Box(100, 50, 30, 30, "face", 0.9)
    near = Box(104, 52, 30, 30, "face", 0.8)
    plan = scan({0: [face], 5: [], 10: [], 15: [near]}, [0, 15], {"face": {0, 5, 10, 15}}, total=16)
    redacted = plan.redacted(every_n=5, min_iou=0.3)
    assert redacted.frames[5] == [Box(100, 50, 34, 32, "face", 0.8)] == redacted.frames[10]
    far = scan({0: [face], 5: [], 10: [], 15: [Box(250, 150, 30, 30, "face")]}, [0, 15],
               {"face": {0, 5, 10, 15}}, total=16).redacted(every_n=5, min_iou=0.3)
    assert far.frames[5] == [] and far.frames[10] == [], "another face is not the same one"


def test_weak_faces_count_only_where_they_continue_a_strong_one() -> None:
    strong = Box(100, 50, 30, 30, "face", 0.8)
    weak = [Box(101, 50, 30, 30, "face", 0.55), Box(103, 51, 30, 30, "face", 0.52)]
    lonely = Box(10, 10, 20, 20, "face", 0.6)  # the eye of a small surgical frame: never strong
    plan = scan({0: [strong], 5: [weak[0], lonely], 10: [weak[1]], 15: [lonely], 45: [Box(100, 50, 30, 30,
                 "face", 0.5)]}, [0, 15, 45], {"face": {0, 5, 10, 15, 45}}, total=46)
    confirm_weak_faces(plan, strong=0.65, min_iou=0.3)
    assert plan.detected.frames[5] == [weak[0]] and plan.detected.frames[10] == [weak[1]]  # transitively
    assert plan.detected.frames[15] == [] and plan.detected.frames[45] == []  # lonely; too far from the track
