"""Verification: what it re-checks (only frames that had detections), and when it fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.privacy import verify
from ophora_data.privacy.boxes import Box, ClipDetections
from ophora_data.privacy.detectors import Detectors
from ophora_data.privacy.verify import Verification, regions_around, verify_clip
from ophora_data.privacy.yuv import read_rgb_frames
from tests.helpers.media import make_cut_video


class Recorder:
    """A fake face detector that reports one box in every region it is given, and records them."""

    kind, name, version = "face", "fake", "0"

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.regions: list[list[tuple[int, int, int, int]]] = []

    def detect(self, frame: np.ndarray) -> list[Box]:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames):  # noqa: ANN001, ANN201
        return [[Box(1, 2, 3, 4, "face", 0.9)] for _ in frames]

    def detect_regions(self, frame, rects):  # noqa: ANN001, ANN201
        self.frames.append(frame)
        self.regions.append(list(rects))
        return [Box(x, y, 3, 4, "face", 0.9) for x, y, _, _ in rects]


def detections(total: int, frames: dict[int, list[Box]], width: int = 160, height: int = 120) -> ClipDetections:
    return ClipDetections(width, height, 25.0, total, frames)


def test_verification_fails_on_any_remaining_box_or_problem() -> None:
    clean = Verification(detections(10, {0: [], 5: []}), frames_checked=2)
    assert clean.passed and clean.reason() == ""
    left = Verification(detections(10, {0: [], 5: [Box(0, 0, 4, 4, "text")]}), frames_checked=2)
    assert not left.passed
    assert left.reason() == "after redaction 0 face(s) and 1 text box(es) remain (frames 5)"
    broken = Verification(detections(10, {}), frames_checked=0, problem="redacted clip has 9 frames")
    assert not broken.passed and broken.reason() == "redacted clip has 9 frames"


def test_only_frames_with_detections_are_decoded_and_checked(tmp_path: Path) -> None:
    """Only the frames with detections are decoded, and only around the boxes found or blurred there."""
    clip = make_cut_video(tmp_path / "c.mp4", duration=1.0, cut_at=None, size="160x120", audio=False)
    face = Box(40, 30, 20, 20, "face")
    found = detections(25, {0: [], 5: [face], 10: [], 15: [face], 20: []})
    blurred = Box(100, 80, 10, 10, "face")  # blurred at frame 15 only (e.g. held from a neighbour)
    per_frame = [[blurred] if i == 15 else [] for i in range(25)]
    recorder = Recorder()
    result = verify_clip(clip, Detectors(face=recorder, text=None), found, per_frame, margin=1.0)
    assert result.frames_checked == 2 and len(recorder.frames) == 2
    assert sorted(result.remaining.frames) == [5, 15] and not result.passed
    decoded = read_rgb_frames(clip, [15])[15]
    assert np.array_equal(recorder.frames[1], decoded)
    # Frame 5: nothing was blurred (a box left out), yet the detection is looked at again, 20 px around.
    assert recorder.regions[0] == [(20, 10, 60, 60)]
    # Frame 15: around the detection and around what was blurred (16 px at least), not the whole frame.
    assert sorted(recorder.regions[1]) == [(20, 10, 60, 60), (84, 64, 42, 42)]


def test_regions_around_boxes_are_clipped_and_merged() -> None:
    boxes = [Box(0, 0, 10, 40, "text"), Box(15, 5, 10, 10, "text"), Box(100, 100, 50, 8, "text")]
    assert sorted(regions_around(boxes, 1.0, 160, 120)) == [(0, 0, 41, 56), (84, 84, 76, 36)]
    assert regions_around([], 1.0, 160, 120) == []


def test_nothing_found_means_nothing_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_cut_video(tmp_path / "c.mp4", duration=1.0, cut_at=None, size="160x120", audio=False)
    monkeypatch.setattr(verify, "read_rgb_frames", lambda *a: pytest.fail("decoded a clip with nothing to check"))
    result = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(25, {0: [], 5: []}), [])
    assert result.passed and result.frames_checked == 0


def test_a_redacted_clip_of_another_length_or_size_fails(tmp_path: Path) -> None:
    clip = make_cut_video(tmp_path / "c.mp4", duration=1.0, cut_at=None, size="160x120", audio=False)
    face = {0: [Box(1, 1, 5, 5, "face")]}
    shorter = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(30, face), [])
    assert not shorter.passed and "25 frames, the source 30" in shorter.reason()
    resized = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(25, face, 320, 240), [])
    assert not resized.passed and "160x120, the source 320x240" in resized.reason()
    odd = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(25, face, 161, 121), [])
    assert odd.problem == "" and odd.frames_checked == 1  # the encoder's even crop is not a change
