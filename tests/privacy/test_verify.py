"""Verification: what it re-checks (only frames that had detections), and when it fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.privacy import verify
from ophora_data.privacy.boxes import Box, ClipDetections
from ophora_data.privacy.detectors import Detectors
from ophora_data.privacy.verify import Verification, verify_clip
from tests.helpers.media import make_cut_video


class Recorder:
    """A fake face detector that reports one box on every frame it is given, and counts them."""

    kind, name, version = "face", "fake", "0"

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def detect(self, frame: np.ndarray) -> list[Box]:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames):  # noqa: ANN001, ANN201
        self.frames.extend(frames)
        return [[Box(1, 2, 3, 4, "face", 0.9)] for _ in frames]


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
    clip = make_cut_video(tmp_path / "c.mp4", duration=1.0, cut_at=None, size="160x120", audio=False)
    face = Box(10, 10, 20, 20, "face")
    found = detections(25, {0: [], 5: [face], 10: [], 15: [face], 20: []})
    recorder = Recorder()
    result = verify_clip(clip, Detectors(face=recorder, text=None), found, batch_size=1)
    assert result.frames_checked == 2 and len(recorder.frames) == 2
    assert sorted(result.remaining.frames) == [5, 15] and not result.passed
    decoded = verify.get_reader().read(clip, verify.read_timeline(clip), [15])[0]
    assert np.array_equal(recorder.frames[1], decoded)


def test_nothing_found_means_nothing_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = make_cut_video(tmp_path / "c.mp4", duration=1.0, cut_at=None, size="160x120", audio=False)
    monkeypatch.setattr(verify, "get_reader", lambda: pytest.fail("decoded a clip with nothing to check"))
    result = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(25, {0: [], 5: []}))
    assert result.passed and result.frames_checked == 0


def test_a_redacted_clip_of_another_length_or_size_fails(tmp_path: Path) -> None:
    clip = make_cut_video(tmp_path / "c.mp4", duration=1.0, cut_at=None, size="160x120", audio=False)
    face = {0: [Box(1, 1, 5, 5, "face")]}
    shorter = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(30, face))
    assert not shorter.passed and "25 frames, the source 30" in shorter.reason()
    resized = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(25, face, 320, 240))
    assert not resized.passed and "160x120, the source 320x240" in resized.reason()
    odd = verify_clip(clip, Detectors(face=Recorder(), text=None), detections(25, face, 161, 121))
    assert odd.problem == "" and odd.frames_checked == 1  # the encoder's even crop is not a change
