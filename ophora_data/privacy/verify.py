"""Run the detectors over a clip's sampled frames: detection on the cut clip, verification on the output.

No work twice: a clip with no detection is published as it is and needs no verification
(its bytes are the ones just checked). A redacted clip is re-checked on exactly the sampled
frames that had detections, the only sampled frames whose pixels redaction meant to change;
every other sampled frame is the source's, already found clean, plus one encoder generation.
A box found there is a face or text the redaction missed (a blur too weak, a box left out or
misplaced, frames shifted) and fails the clip's `verification` check unless another
redaction pass removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ophora_data.media.frames import get_reader, sample_frames
from ophora_data.media.runner import MediaError
from ophora_data.media.timeline import read_timeline
from ophora_data.privacy.boxes import Box, ClipDetections
from ophora_data.privacy.detectors import Detectors


def detect_frames(frames: np.ndarray | Sequence[np.ndarray], detectors: Detectors,
                  batch_size: int) -> list[list[Box]]:
    """Boxes per frame, `batch_size` frames per detector call (bounds memory: a PP-OCR batch of
    eight 960x544 frames holds ~50 MB of input and a few hundred MB of activations)."""
    out: list[list[Box]] = []
    for start in range(0, len(frames), batch_size):
        out.extend(detectors.detect_batch(frames[start : start + batch_size]))
    return out


def detect_clip(path: Path, detectors: Detectors, every_n: int, batch_size: int = 8) -> ClipDetections:
    """Boxes on every `every_n`-th frame; MediaError when the clip has no decodable frame."""
    sampled = sample_frames(path, every_n=every_n)
    height, width = sampled.frames.shape[1:3]
    found = detect_frames(sampled.frames, detectors, batch_size)
    return ClipDetections(width=width, height=height, fps=sampled.fps, total_frames=sampled.total_frames,
                          frames=dict(zip(sampled.indices, found, strict=True)))


@dataclass(frozen=True)
class Verification:
    """What the detectors still find on the redacted clip, on the frames they re-checked.

    `problem` is set when the output cannot be compared at all (frame count or size changed).
    """

    remaining: ClipDetections
    frames_checked: int
    problem: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem and not self.remaining.any

    def reason(self) -> str:
        if self.passed:
            return ""
        if self.problem:
            return self.problem
        faces, texts = self.remaining.count("face"), self.remaining.count("text")
        where = ", ".join(str(i) for i in self.remaining.frames_with()[:5])
        return f"after redaction {faces} face(s) and {texts} text box(es) remain (frames {where})"


def verify_clip(path: Path, detectors: Detectors, found: ClipDetections, batch_size: int = 8) -> Verification:
    """Re-detect on the redacted clip at `path`, on the sampled frames of `found` that had boxes.

    Raises MediaError when the redacted clip cannot be decoded.
    """
    indices = found.frames_with()
    timeline = read_timeline(path)
    empty = ClipDetections(found.width, found.height, found.fps, timeline.total_frames, {})
    if timeline.total_frames != found.total_frames:
        return Verification(empty, 0, f"redacted clip has {timeline.total_frames} frames, the source "
                                      f"{found.total_frames}: boxes cannot be checked")
    if not indices:
        return Verification(empty, 0)
    frames = get_reader().read(path, timeline, indices)
    if len(frames) != len(indices):
        raise MediaError(f"decoded {len(frames)} of {len(indices)} frames of {path.name}")
    # The encoder crops a stray odd row/column (yuv420p): boxes keep their coordinates.
    if frames.shape[1:3] != (found.height // 2 * 2, found.width // 2 * 2):
        return Verification(empty, 0, f"redacted clip is {frames.shape[2]}x{frames.shape[1]}, the source "
                                      f"{found.width}x{found.height}")
    remaining = detect_frames(frames, detectors, batch_size)
    checked = ClipDetections(found.width, found.height, found.fps, found.total_frames,
                             dict(zip(indices, remaining, strict=True)))
    return Verification(remaining=checked, frames_checked=len(indices))
