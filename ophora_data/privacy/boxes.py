"""A detection box in full-frame pixel coordinates, and the per-frame detections of one clip."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

Rect = tuple[int, int, int, int]  # x, y, w, h in pixels


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int
    kind: str  # "face" or "text"
    score: float = 0.0  # detector confidence (Haar has none: 0); text boxes keep Tesseract's 0..100

    def scaled(self, factor: float) -> Box:
        """The same box on an image `factor` times larger (detections run on downscaled frames)."""
        return Box(round(self.x * factor), round(self.y * factor), round(self.w * factor),
                   round(self.h * factor), self.kind, self.score)

    def shifted(self, dx: int, dy: int) -> Box:
        """The same box moved by (dx, dy) pixels (from a crop's coordinates to its frame's)."""
        return Box(self.x + dx, self.y + dy, self.w, self.h, self.kind, self.score)

    def dilated(self, fraction: float, width: int, height: int) -> Box:
        """Grown by `fraction` of its size on every side, clipped to the frame."""
        # Rounded up: a margin that protects privacy should never shrink to nothing.
        dx, dy = math.ceil(self.w * fraction), math.ceil(self.h * fraction)
        x0, y0 = max(0, self.x - dx), max(0, self.y - dy)
        x1, y1 = min(width, self.x + self.w + dx), min(height, self.y + self.h + dy)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0), self.kind, self.score)

    def as_list(self) -> list[Any]:
        return [self.x, self.y, self.w, self.h, self.kind, round(self.score, 2)]

    @classmethod
    def from_list(cls, value: list[Any]) -> Box:
        x, y, w, h, kind, score = value
        return cls(int(x), int(y), int(w), int(h), str(kind), float(score))


@dataclass
class ClipDetections:
    """Boxes per sampled frame index of one clip (every sampled index is a key, maybe with [])."""

    width: int
    height: int
    fps: float
    total_frames: int
    frames: dict[int, list[Box]] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return sum(1 for boxes in self.frames.values() for box in boxes if box.kind == kind)

    def max_per_frame(self, kind: str) -> int:
        """The most boxes of `kind` in one sampled frame: "how many faces", whatever the sampling rate."""
        return max((sum(1 for b in boxes if b.kind == kind) for boxes in self.frames.values()), default=0)

    def frames_with(self, kind: str | None = None) -> list[int]:
        return sorted(i for i, boxes in self.frames.items() if any(kind in (None, b.kind) for b in boxes))

    @property
    def any(self) -> bool:
        return any(self.frames.values())

    def merged(self, other: ClipDetections) -> ClipDetections:
        """Both sets of boxes per frame (a later redaction pass adds what verification still found)."""
        frames = {i: list(boxes) for i, boxes in self.frames.items()}
        for index, boxes in other.frames.items():
            frames.setdefault(index, []).extend(boxes)
        return ClipDetections(self.width, self.height, self.fps, self.total_frames, frames)

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "fps": self.fps,
                "total_frames": self.total_frames,
                "frames": {str(i): [b.as_list() for b in boxes] for i, boxes in sorted(self.frames.items())}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClipDetections:
        frames = {int(i): [Box.from_list(b) for b in boxes] for i, boxes in data["frames"].items()}
        return cls(int(data["width"]), int(data["height"]), float(data["fps"]), int(data["total_frames"]),
                   frames)


def _same_line(a: Box, b: Box) -> bool:
    """Words of one line: vertical centres close, horizontal gap under ~1.5 letter heights (or overlap)."""
    height = max(a.h, b.h)
    centres_close = abs((a.y + a.h / 2) - (b.y + b.h / 2)) <= 0.5 * height
    gap = max(a.x, b.x) - min(a.x + a.w, b.x + b.w)
    return centres_close and gap <= 1.5 * height


def _union(a: Box, b: Box) -> Box:
    """Two boxes of one text line as one: their hull, with the surer of the two scores."""
    return replace(hull(a, b), score=max(a.score, b.score))


def merge_lines(boxes: list[Box]) -> list[Box]:
    """Merge word boxes into line boxes, so short words between detected ones are covered too
    (and duplicates of one word from several OCR views collapse into one box)."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                if _same_line(merged[i], merged[j]):
                    merged[i] = _union(merged[i], merged.pop(j))
                    changed = True
                    break
            if changed:
                break
    return merged


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0..1; 0 when both are empty)."""
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def hull(a: Box, b: Box) -> Box:
    """The smallest box around both (where an object moving from a to b passes, if it moves steadily)."""
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
    return Box(x0, y0, x1 - x0, y1 - y0, a.kind, min(a.score, b.score))


def contains(outer: Box, inner: Box) -> bool:
    """True when `inner` lies inside `outer` and both are of one kind."""
    return (outer.kind == inner.kind and outer.x <= inner.x and outer.y <= inner.y
            and outer.x + outer.w >= inner.x + inner.w and outer.y + outer.h >= inner.y + inner.h)


def merge_rects(rects: Sequence[Rect]) -> list[Rect]:
    """Overlapping or touching (x, y, w, h) rectangles merged into their bounding rectangles."""
    boxes = [list(r) for r in rects if r[2] > 0 and r[3] > 0]
    changed = True
    while changed:
        changed = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] <= b[0] + b[2] and b[0] <= a[0] + a[2] and a[1] <= b[1] + b[3] and b[1] <= a[1] + a[3]:
                    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
                    boxes[i] = [x0, y0, max(a[0] + a[2], b[0] + b[2]) - x0, max(a[1] + a[3], b[1] + b[3]) - y0]
                    boxes.pop(j)
                    changed = True
                    break
            if changed:
                break
    return [(x, y, w, h) for x, y, w, h in boxes]
