from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.media.probe import probe_file
from ophora_data.media.rawvideo import RawVideoEncoder
from ophora_data.media.runner import MediaError


def test_frames_are_encoded_at_the_given_rate(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    output = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)]
    with RawVideoEncoder(32, 16, 8.0, output) as encoder:
        for value in range(10):
            encoder.write(np.full((16, 32, 3), value * 20, np.uint8))
    meta = probe_file(out)
    assert (meta["width"], meta["height"], meta["fps"], meta["nb_frames"]) == (32, 16, 8.0, 10)
    assert encoder.frames_written == 10


def test_ffmpeg_failure_is_a_media_error_with_its_message(tmp_path: Path) -> None:
    bad = ["-c:v", "no-such-codec", str(tmp_path / "x.mp4")]
    with pytest.raises(MediaError, match="no-such-codec|Unknown encoder"), RawVideoEncoder(8, 8, 1.0, bad) as enc:
        enc.write(np.zeros((8, 8, 3), np.uint8))


def test_error_upstream_kills_the_encoder(tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError), RawVideoEncoder(8, 8, 1.0, ["-c:v", "libx264", str(out)]) as encoder:
        encoder.write(np.zeros((8, 8, 3), np.uint8))
        raise RuntimeError("decode failed")
    assert encoder._process.poll() is not None
