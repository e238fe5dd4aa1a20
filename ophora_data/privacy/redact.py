"""Redaction: blur boxes in every decoded frame and re-encode the clip (ffmpeg libx264, atomically).

Frames travel as planar YUV 4:2:0 (`privacy/yuv.py`): decoded, the boxes blurred in the luma
and (at half resolution) the two chroma planes, and encoded without any colour conversion, so
pixels outside the boxes reach the encoder exactly as decoded and go through one more H.264
generation only (PSNR outside the boxes well above 40 dB at CRF 18). A clip with nothing to
redact is published as a hard link (or copy) of the cut clip, not re-encoded. `redact_frame`
blurs an RGB image the same way (tests, benchmarks).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ophora_data.config.privacy import PrivacyConfig
from ophora_data.media.rawvideo import RawVideoEncoder
from ophora_data.privacy.boxes import Box
from ophora_data.privacy.yuv import DecodedClip, YuvReader, planes
from ophora_data.run.atomic import atomic_write

# Gaussian blur with a huge sigma is slow; blurring a smaller copy is equivalent to the eye
# and costs the same for any box size. Sigma at the reduced scale is kept at about this value.
_REDUCED_SIGMA = 4.0


def blur_box(frame: np.ndarray, box: Box, method: str, strength: float, blocks: int) -> None:
    """Blur (or pixelate) `box` of `frame` in place; pixels outside the box are untouched."""
    import cv2

    region = frame[box.y : box.y + box.h, box.x : box.x + box.w]
    height, width = region.shape[:2]
    if height < 2 or width < 2:
        return
    short = min(height, width)
    if method == "pixelate":
        cells = max(1, min(blocks, short))
        scale = cells / short
        small = cv2.resize(region, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        region[:] = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
        return
    sigma = max(1.0, strength * short)
    scale = min(1.0, _REDUCED_SIGMA / sigma)
    small = cv2.resize(region, (max(2, round(width * scale)), max(2, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma * scale, borderType=cv2.BORDER_REPLICATE)
    region[:] = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def redact_frame(frame: np.ndarray, boxes: list[Box], config: PrivacyConfig) -> np.ndarray:
    """A copy of `frame` with every box blurred (the input frame is not modified)."""
    if not boxes:
        return frame
    out = frame.copy()
    for box in boxes:
        blur_box(out, box, config.blur, config.blur_strength, config.pixelate_blocks)
    return out


def redact_i420(frame: np.ndarray, width: int, height: int, boxes: list[Box], config: PrivacyConfig) -> np.ndarray:
    """A copy of the flat I420 `frame` with every box blurred in all three planes (chroma boxes at
    half resolution, rounded outward); the input is returned unchanged when there are no boxes."""
    if not boxes:
        return frame
    out = frame.copy()
    luma, blue, red = planes(out, width, height)
    for box in boxes:
        blur_box(luma, box, config.blur, config.blur_strength, config.pixelate_blocks)
        x0, y0 = box.x // 2, box.y // 2
        half = Box(x0, y0, (box.x + box.w + 1) // 2 - x0, (box.y + box.h + 1) // 2 - y0, box.kind)
        for chroma in (blue, red):
            blur_box(chroma, half, config.blur, config.blur_strength, config.pixelate_blocks)
    return out


def _encoder_output(source: Path, out: Path, config: PrivacyConfig) -> list[str]:
    return ["-i", str(source), "-map", "0:v:0", "-map", "1:a?", "-c:a", "copy",
            "-c:v", "libx264", "-preset", config.preset, "-crf", str(config.crf), "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", "-f", "mp4", str(out)]


def _encode(source: Path, out: Path, per_frame: list[list[Box]], config: PrivacyConfig,
            decoded: DecodedClip | None) -> int:
    """Decode `source` (or take its frames from `decoded`), blur, pipe into ffmpeg writing `out`;
    returns the number of frames written. Raises MediaError when the source cannot be decoded or
    ffmpeg fails."""
    reader = decoded if decoded is not None else YuvReader(source, timeout_s=config.timeout_s)
    encoder = RawVideoEncoder(reader.width, reader.height, reader.timeline.fps, _encoder_output(source, out, config),
                              timeout_s=config.timeout_s, pix_fmt="yuv420p")
    try:
        for index, frame in reader:
            boxes = per_frame[index] if index < len(per_frame) else []
            encoder.write(redact_i420(frame, reader.width, reader.height, boxes, config))
        encoder.close()
    except BaseException:
        encoder.abort()
        raise
    return encoder.frames_written


def encode_redacted(source: Path, dest: Path, per_frame: list[list[Box]], config: PrivacyConfig,
                    decoded: DecodedClip | None = None) -> int:
    """Write the redacted clip to `dest` atomically (a killed run leaves no half file). `decoded`:
    the source's frames, already decoded (`scan_clip` keeps them when they fit in memory); they are
    not modified. The source file still gives the audio."""
    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        written = _encode(source, tmp, per_frame, config, decoded)

    atomic_write(dest, write)
    return written


def publish_unchanged(source: Path, dest: Path) -> None:
    """Nothing to redact: hard-link (or copy) the clip to `dest`, then rename into place.

    (Not `atomic_write`: its fsync opens the file for writing, which a read-only source refuses.)
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.link.tmp")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem, or links unsupported
            shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
