"""Blurring and re-encoding: boxes are destroyed, everything else stays as in the source."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ophora_data.config.privacy import PrivacyConfig
from ophora_data.media.frames import sample_frames
from ophora_data.media.runner import MediaError
from ophora_data.privacy.boxes import Box
from ophora_data.privacy.redact import blur_box, encode_redacted, publish_unchanged, redact_frame
from ophora_data.privacy.yuv import DecodedClip, YuvReader
from tests.helpers.media import decode_all, make_cut_video
from tests.privacy.helpers import outside_mask, psnr, ssim


def noise_frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)


@pytest.mark.parametrize("method", ["gaussian", "pixelate"])
def test_blur_changes_only_the_box_and_destroys_its_detail(method: str) -> None:
    frame = noise_frame()
    box = Box(40, 30, 60, 50, "face")
    out = redact_frame(frame, [box], PrivacyConfig(blur=method))
    assert np.array_equal(frame, noise_frame()), "the input frame must not be modified"
    mask = outside_mask(frame.shape, [box], margin=0)
    assert np.array_equal(out[mask], frame[mask])
    inside, before = out[30:80, 40:100].astype(float), frame[30:80, 40:100].astype(float)
    assert inside.std() < 0.25 * before.std()  # random detail is gone, not merely softened


def test_stronger_gaussian_blurs_more() -> None:
    frame, box = noise_frame(1), Box(0, 0, 160, 120, "face")
    stds = []
    for strength in (0.02, 0.1, 0.5):
        out = frame.copy()
        blur_box(out, box, "gaussian", strength, 6)
        stds.append(out.astype(float).std())
    assert stds[0] > stds[1] > stds[2]


def test_tiny_or_empty_boxes_are_harmless() -> None:
    frame = noise_frame(2)
    out = redact_frame(frame, [Box(5, 5, 1, 1, "text"), Box(150, 110, 0, 0, "text")], PrivacyConfig())
    assert np.array_equal(out, frame)


def test_encode_keeps_frames_and_pixels_outside_boxes(tmp_path: Path) -> None:
    """Golden-style: a moving pattern re-encoded with one blurred box; outside it PSNR/SSIM stay high."""
    source = make_cut_video(tmp_path / "src.mp4", duration=2.0, cut_at=None, size="320x240", fps=25,
                            audio=True)
    box = Box(100, 60, 120, 90, "face")
    total = 50
    per_frame = [[box] if i % 2 == 0 else [] for i in range(total)]
    dest = tmp_path / "redacted" / "clip.mp4"
    written = encode_redacted(source, dest, per_frame, PrivacyConfig())
    assert written == total and dest.exists()
    assert not [p for p in dest.parent.iterdir() if p.name != "clip.mp4"], "no temp file left behind"
    original, redacted = decode_all(source), decode_all(dest)
    assert redacted.shape == original.shape
    mask = outside_mask(original.shape[1:], [box])
    for index in (0, 1, 24, 49):
        assert psnr(original[index], redacted[index], mask) > 36  # one more H.264 generation at CRF 18
        assert ssim(original[index], redacted[index], mask) > 0.97
    inside = (slice(box.y + 8, box.y + box.h - 8), slice(box.x + 8, box.x + box.w - 8))
    assert psnr(original[0][inside], redacted[0][inside]) < 25  # blurred frame: box content destroyed
    assert psnr(original[1][inside], redacted[1][inside]) > 35  # frame without boxes: untouched
    audio = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a",
                            "-show_entries", "stream=codec_type", "-of", "csv=p=0", str(dest)],
                           capture_output=True, text=True, check=True).stdout
    assert audio.strip() == "audio", "the clip's audio is carried over"


def test_encoding_from_kept_frames_equals_decoding_again_and_leaves_them_unchanged(tmp_path: Path) -> None:
    """The scan's frames (`DecodedClip`) give the same redacted clip as a second decode, twice in a row
    (a second verification pass starts from them again), and the kept frames are not blurred in place."""
    source = make_cut_video(tmp_path / "src.mp4", duration=1.0, cut_at=None, size="320x240", fps=25, audio=False)
    reader = YuvReader(source)
    decoded = DecodedClip(reader.timeline, reader.width, reader.height, [frame for _, frame in reader])
    before = [frame.copy() for frame in decoded.frames]
    per_frame = [[Box(100, 60, 120, 90, "face")] if i % 3 else [] for i in range(25)]
    again = encode_redacted(source, tmp_path / "again.mp4", per_frame, PrivacyConfig())
    kept = [encode_redacted(source, tmp_path / f"kept{n}.mp4", per_frame, PrivacyConfig(), decoded) for n in (1, 2)]
    assert again == kept[0] == kept[1] == 25
    assert all(np.array_equal(a, b) for a, b in zip(before, decoded.frames, strict=True))
    reference = decode_all(tmp_path / "again.mp4")
    for n in (1, 2):
        assert np.array_equal(decode_all(tmp_path / f"kept{n}.mp4"), reference)


def test_encode_of_an_undecodable_file_raises_and_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    dest = tmp_path / "out" / "bad.mp4"
    with pytest.raises(MediaError):
        encode_redacted(bad, dest, [], PrivacyConfig())
    assert not dest.exists() and not list(dest.parent.glob("*"))


def test_publish_unchanged_links_read_only_sources(tmp_path: Path) -> None:
    source = make_cut_video(tmp_path / "src.mp4", duration=1.0, cut_at=None, audio=False)
    source.chmod(0o444)
    dest = tmp_path / "redacted" / "c.mp4"
    publish_unchanged(source, dest)
    publish_unchanged(source, dest)  # idempotent on rerun
    assert dest.read_bytes() == source.read_bytes()
    assert os.stat(dest).st_ino == os.stat(source).st_ino
    assert sample_frames(dest, count=1).total_frames == 25
    assert [p.name for p in dest.parent.iterdir()] == ["c.mp4"]
