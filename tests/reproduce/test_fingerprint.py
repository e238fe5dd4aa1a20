"""ophora-fp1 fingerprints on generated arrays and one generated clip: stable, sensitive, explainable."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ophora_data.media.fingerprint import (
    GRID,
    Fingerprint,
    best_shift,
    box_cells,
    compare,
    fingerprint_clip,
    fingerprint_frames,
    hash_indices,
)
from ophora_data.privacy.boxes import Box


def moving_frames(n: int, offset: int = 0) -> np.ndarray:
    """(n, 64, 64) luma, frame k showing time k+offset: a square moving 3 px per frame over a gradient, and
    one cell (16x16 at cell row 2, column 0) brightening 4 levels per frame, so no two times look alike."""
    frames = np.tile(np.linspace(20, 120, 64, dtype=np.float32), (n, 64, 1))
    for k in range(n):
        x = (3 * (k + offset)) % 48
        frames[k, 4:12, x:x + 16] = 240
        frames[k, 32:48, 0:16] = min(255, 4 * (k + offset + 8))
    return frames.astype(np.uint8)


def test_round_trip_and_method_guard() -> None:
    fp = fingerprint_frames(moving_frames(30))
    again = Fingerprint.from_json(fp.to_json())
    assert again.frames == 30 and again.phash == fp.phash and np.array_equal(again.cells, fp.cells)
    assert len(fp.to_json()["phash"]) == 8 and fp.hash_frames == tuple(hash_indices(30))
    with pytest.raises(ValueError, match="method"):
        Fingerprint.from_json({**fp.to_json(), "method": "other"})
    with pytest.raises(ValueError, match="cell values"):
        Fingerprint.from_json({**fp.to_json(), "frames": 31})


def test_identical_noisy_and_shifted_frames() -> None:
    base = moving_frames(40)
    same = compare(fingerprint_frames(base), fingerprint_frames(base), 3.0)
    assert (same.luma_difference, same.hash_distance, same.differing) == (0.0, 0, ())
    noise = np.clip(base.astype(np.int16) + np.random.default_rng(1).integers(-2, 3, base.shape), 0, 255)
    noisy = compare(fingerprint_frames(base), fingerprint_frames(noise.astype(np.uint8)), 3.0)
    assert noisy.luma_difference <= 3.0 and noisy.hash_distance <= 10
    shifted = compare(fingerprint_frames(base), fingerprint_frames(moving_frames(40, offset=4)), 3.0)
    assert shifted.luma_difference > 3.0 and shifted.differing


def test_replaced_frames_are_listed_as_runs() -> None:
    base = moving_frames(40)
    edited = base.copy()
    edited[10:14] = 0
    result = compare(fingerprint_frames(base), fingerprint_frames(edited), 3.0)
    assert result.differing == ((10, 13),) and result.same_frame_count
    shorter = compare(fingerprint_frames(base), fingerprint_frames(base[:39]), 3.0)
    assert not shorter.same_frame_count and shorter.hash_distance == 64


def test_best_shift_finds_the_offset_also_off_the_source_start() -> None:
    source = fingerprint_frames(moving_frames(60)).cells
    clip = fingerprint_frames(moving_frames(20, offset=25)).cells
    assert best_shift(clip, source, 20, 3.0) == (5, 0.0, 20)
    # The clip's first 6 frames were trimmed off the source: found with 14 of 20 frames overlapping.
    early = fingerprint_frames(moving_frames(20, offset=-6)).cells
    assert best_shift(early, source, 3, 3.0) == (-9, 0.0, 14)
    assert best_shift(np.full((20, GRID * GRID), 7, np.uint8), source, 20, 3.0) is None


def test_box_cells_mark_the_cells_a_box_touches() -> None:
    mask = box_cells([[Box(0, 0, 10, 10, "text")], [], [Box(70, 50, 60, 30, "face")]], 128, 96)
    assert mask[0].nonzero()[0].tolist() == [0]
    assert not mask[1].any()
    assert mask[2].nonzero()[0].tolist() == [10, 11, 14, 15]  # x 70-129, y 50-79


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_clip_fingerprint_survives_a_reencode(tmp_path: Path) -> None:
    from tests.reproduce.releasefactory import ffmpeg

    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=12:duration=2", "-c:v", "libx264", "-crf", "18",
           "-pix_fmt", "yuv420p", str(clip))
    small = tmp_path / "small.mp4"
    ffmpeg("-i", str(clip), "-vf", "scale=160:120,scale=320:240", "-c:v", "libx264", "-crf", "32", str(small))
    result = compare(fingerprint_clip(clip), fingerprint_clip(small), 3.0)
    assert result.same_frame_count and result.expected_frames == 24
    assert result.luma_difference <= 3.0 and result.hash_distance <= 10
