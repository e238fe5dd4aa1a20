"""Run the detectors over a clip's sampled frames: detection on the cut clip, verification on the output.

Verification is the same detection on the redacted file: a box found there is a face or
text the redaction missed (or one that encoder noise made newly detectable), and fails the
clip's `verification` check unless another redaction pass removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ophora_data.media.frames import sample_frames
from ophora_data.privacy.boxes import ClipDetections
from ophora_data.privacy.detectors import Detectors


def detect_clip(path: Path, detectors: Detectors, every_n: int) -> ClipDetections:
    """Boxes on every `every_n`-th frame; MediaError when the clip has no decodable frame."""
    sampled = sample_frames(path, every_n=every_n)
    height, width = sampled.frames.shape[1:3]
    pairs = zip(sampled.indices, sampled.frames, strict=True)
    frames = {index: detectors.detect(frame) for index, frame in pairs}
    return ClipDetections(width=width, height=height, fps=sampled.fps, total_frames=sampled.total_frames,
                          frames=frames)


@dataclass(frozen=True)
class Verification:
    remaining: ClipDetections
    frames_checked: int

    @property
    def passed(self) -> bool:
        return not self.remaining.any

    def reason(self) -> str:
        if self.passed:
            return ""
        faces, texts = self.remaining.count("face"), self.remaining.count("text")
        where = ", ".join(str(i) for i in self.remaining.frames_with()[:5])
        return f"after redaction {faces} face(s) and {texts} text box(es) remain (frames {where})"


def verify_clip(path: Path, detectors: Detectors, every_n: int) -> Verification:
    remaining = detect_clip(path, detectors, every_n)
    return Verification(remaining=remaining, frames_checked=len(remaining.frames))
