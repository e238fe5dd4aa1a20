"""Run the detectors over frames, and verify a redacted clip.

No work twice: a clip with no detection is published as it is and needs no verification
(its bytes are the ones just checked). A redacted clip is re-checked on exactly the sampled
frames that had detections, the only looked-at frames whose pixels redaction meant to change,
and only around what was blurred there (each blurred box and `verify_margin` times its short
side around it, detected at the whole frame's scale): everything else in those frames is the
source's, already found clean, plus one encoder generation. A box found there is a face or text
the redaction missed (a blur too weak, a box left out or misplaced, frames shifted, half a line
that shows once its neighbour is blurred) and fails the clip's `verification` check unless
another redaction pass removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ophora_data.media.runner import MediaError
from ophora_data.media.timeline import read_timeline
from ophora_data.privacy.boxes import Box, ClipDetections, Rect, merge_rects
from ophora_data.privacy.detectors import Detectors
from ophora_data.privacy.yuv import read_rgb_frames


def detect_frames(frames: np.ndarray | Sequence[np.ndarray], detectors: Detectors,
                  batch_size: int) -> list[list[Box]]:
    """Boxes per frame, `batch_size` frames per detector call (bounds memory: a PP-OCR batch of
    eight 960x544 frames holds ~50 MB of input and a few hundred MB of activations)."""
    out: list[list[Box]] = []
    for start in range(0, len(frames), batch_size):
        out.extend(detectors.detect_batch(frames[start : start + batch_size]))
    return out


def regions_around(boxes: Sequence[Box], margin: float, width: int, height: int) -> list[Rect]:
    """Rectangles around `boxes`: `margin` times each box's short side (at least 16 px) on every side,
    clipped to the frame, overlapping ones merged."""
    rects = []
    for box in boxes:
        pad = max(16, round(margin * min(box.w, box.h)))
        x0, y0 = max(0, box.x - pad), max(0, box.y - pad)
        x1, y1 = min(width, box.x + box.w + pad), min(height, box.y + box.h + pad)
        rects.append((x0, y0, x1 - x0, y1 - y0))
    return merge_rects(rects)


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


def verify_clip(path: Path, detectors: Detectors, found: ClipDetections, per_frame: Sequence[Sequence[Box]],
                margin: float = 1.0) -> Verification:
    """Re-detect on the redacted clip at `path`, on the sampled frames of `found` that had boxes,
    around what was found there and what was blurred there (`per_frame`, as encoded; `margin`:
    see `regions_around`). Raises MediaError when the redacted clip cannot be decoded."""
    indices = found.frames_with()
    timeline = read_timeline(path)
    empty = ClipDetections(found.width, found.height, found.fps, timeline.total_frames, {})
    if timeline.total_frames != found.total_frames:
        return Verification(empty, 0, f"redacted clip has {timeline.total_frames} frames, the source "
                                      f"{found.total_frames}: boxes cannot be checked")
    # The encoder crops a stray odd row/column (yuv420p): boxes keep their coordinates.
    width, height = timeline.display_size
    if (height // 2 * 2, width // 2 * 2) != (found.height // 2 * 2, found.width // 2 * 2):
        return Verification(empty, 0, f"redacted clip is {width}x{height}, the source "
                                      f"{found.width}x{found.height}")
    if not indices:
        return Verification(empty, 0)
    frames = read_rgb_frames(path, indices, timeline)
    if len(frames) != len(indices):
        raise MediaError(f"decoded {len(frames)} of {len(indices)} frames of {path.name}")
    remaining = {}
    for index in indices:
        frame = frames[index]
        blurred = list(per_frame[index]) if index < len(per_frame) else []
        remaining[index] = []
        for detector in detectors.active:  # each detector where it found something, around its kind of box
            detected = [b for b in found.frames[index] if b.kind == detector.kind]
            if not detected:
                continue
            # Around the detections too: a box left out of the blur must still be looked at.
            near = [*detected, *(b for b in blurred if b.kind == detector.kind)]
            rects = regions_around(near, margin, frame.shape[1], frame.shape[0])
            remaining[index].extend(detector.detect_regions(frame, rects))
    checked = ClipDetections(found.width, found.height, found.fps, found.total_frames, remaining)
    return Verification(remaining=checked, frames_checked=len(indices))
