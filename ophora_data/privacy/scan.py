"""Where the detectors look in a clip, and which boxes cover the frames between: text coarse to fine.

Running both detectors on every 5th frame cost ~13x a plain re-encode, nearly all of it PP-OCR
(~0.15 CPU-s a frame at 960 px, against ~0.05 for YuNet at 640 px). Burned-in text does not
flash by: subtitles stay up at least 5/6 s (Netflix's timed-text style guide), watermarks,
labels and timestamps for the whole clip. Faces can (a person crossing the picture is visible
for 9 frames in the real silent-film fixture), and YuNet is cheap. So:

1. **Faces**: YuNet on every `every_n_frames`-th frame (8: a face on screen for a third of a
   second is seen at least once at 24-30 fps). It flickers around its score
   threshold, so the scan keeps faces down to `yunet_track_threshold` (0.5) and counts such a
   weak face only where it continues (IoU >= `match_iou` at the neighbouring looked-at frame,
   transitively) a face that reached `yunet_score_threshold` (hysteresis, `confirm_weak_faces`):
   the eye of a small surgical frame, never above 0.64, is never blurred; a person scoring 0.6
   for a frame is.
2. **Text, coarse**: PP-OCR on whole frames every `coarse_every_s` (5/6 s, the shortest subtitle
   event the style guide allows: `coarse_step` frames) and on the last frame. Text visible at one
   place for that long is seen at least once.
3. **Text, fine**, between two consecutive coarse samples a and b, on the `every_n_frames` grid:
   - text boxes that match (IoU >= `match_iou`) at a and b are the same overlay, standing still
     or moving a little: the frames between get the box around both (`hull`), nothing is
     re-detected (static watermarks, labels and timestamps cost one look per 5/6 s);
   - a text box without a match (a caption came or went, or slides): it is held over the whole
     interval (burned-in text does not move), and text is detected on the frames between in the
     horizontal band around it (where sliding titles and tickers move), not the whole frame;
   - two or more abrupt picture changes between a and b (`abrupt_changes`: a shot shorter than
     the interval, or an overlay that comes and goes in an otherwise still picture): PP-OCR on
     the whole frames between.
4. A frame showing the same picture as the last frame a detector looked at (no cell of the 8x
   shrunk luma changed by `static_change` grey levels: a title card, a slide, a paused shot)
   gets that frame's boxes without a look; a glyph appearing changes its cells by far more.
5. Boxes found at a frame are bridged to the next frame where the same detector found the same
   object within `coarse_step` frames (flicker leaves no gap), and every box is held
   `hold_frames` frames around its frame by `smoothing.boxes_per_frame`.

What this cannot see: text that appears and disappears between two coarse samples (under 5/6 s)
in a picture that keeps moving (no abrupt change stands out). `coarse_every_s=0` runs PP-OCR on
every `every_n_frames`-th frame too, as before this scheme.

Decoding: one ffmpeg pass (`yuv.YuvReader`); only looked-at frames are converted to RGB, and the
grid frames of an interval stay in memory until it is decided (at most `batch_size` intervals).
A clip whose frames fit in `frame_memory_mb` keeps them all (`Scan.decoded`): its redaction
then needs no second decode.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

from ophora_data.config.privacy import PrivacyConfig
from ophora_data.media.timeline import read_timeline
from ophora_data.privacy.boxes import Box, ClipDetections, Rect, contains, hull, iou
from ophora_data.privacy.detectors import Detectors, YuNetFaceDetector
from ophora_data.privacy.verify import detect_frames
from ophora_data.privacy.yuv import DecodedClip, YuvReader, planes, to_rgb

THUMB_DIVISOR = 8  # abrupt changes are measured on the luma plane shrunk 8x (averages out noise and grain)


def coarse_step(fps: float, every_n: int, coarse_every_s: float) -> int:
    """Frames between coarse samples: a multiple of `every_n` (coarse samples are grid frames, where
    faces are looked for anyway) spanning at most `coarse_every_s` seconds, at least `every_n`
    (0 seconds: every `every_n`-th frame, no coarse pass). With the defaults (8, 5/6 s): 24 and 25 fps:
    16 frames, 30 fps: 24, 60 fps: 48. A hundredth of a frame is tolerated, so 5/6 s written as 0.8333
    spans 20 frames at 24 fps with `every_n` 5 (19.9992 frames)."""
    if coarse_every_s <= 0 or fps <= 0:
        return every_n
    return every_n * max(1, math.floor((coarse_every_s * fps + 0.01) / every_n))


def coarse_frames(total: int, step: int, every_n: int) -> list[int]:
    """0, step, 2*step, ... and the last frame when more than `every_n` frames lie after the last one."""
    frames = list(range(0, total, step))
    if frames and total - 1 - frames[-1] > every_n:
        frames.append(total - 1)
    return frames


def between(a: int, b: int, every_n: int) -> list[int]:
    """The fine frames strictly between coarse samples a and b: a+n, a+2n, ... < b."""
    return list(range(a + every_n, b, every_n))


def match(first: Sequence[Box], second: Sequence[Box], min_iou: float) -> tuple[list[tuple[Box, Box]],
                                                                               list[Box], list[Box]]:
    """Greedy one-to-one matching of boxes of the same kind by IoU (highest first).

    Returns (pairs, unmatched of `first`, unmatched of `second`)."""
    candidates = sorted(((iou(a, b), i, j) for i, a in enumerate(first) for j, b in enumerate(second)
                         if a.kind == b.kind), reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for overlap, i, j in candidates:
        if overlap < min_iou:
            break
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((first[i], second[j]))
    return (pairs, [a for i, a in enumerate(first) if i not in used_a],
            [b for j, b in enumerate(second) if j not in used_b])


def abrupt_changes(diffs: Sequence[float], history: Sequence[float], ratio: float, floor: float) -> int:
    """How many frame-to-frame changes in `diffs` (mean absolute change of the shrunk luma from the
    frame before, grey levels) stand out: isolated spikes of at least `floor`, `ratio` times the
    clip's median change so far (`history`) and twice both neighbours. Cuts, and overlays switching
    on or off in a still picture, are spikes; motion, even a burst of it, changes several frames in
    a row (the first and last of `diffs` only serve as neighbours)."""
    typical = float(np.median(history)) if len(history) else 0.0
    bar = max(floor, ratio * typical)
    return sum(1 for m in range(1, len(diffs) - 1)
               if diffs[m] >= bar and diffs[m] >= 2 * max(diffs[m - 1], diffs[m + 1]))


def text_bands(boxes: Sequence[Box], width: int, height: int) -> list[Rect]:
    """Full-width horizontal bands around text boxes (half a box's height above and below, at least
    8 px), merged where they overlap: where a caption that came, went or slid in can be between samples."""
    spans = sorted((max(0, b.y - max(8, b.h // 2)), min(height, b.y + b.h + max(8, b.h // 2))) for b in boxes)
    merged: list[list[int]] = []
    for top, bottom in spans:
        if merged and top <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], bottom)
        else:
            merged.append([top, bottom])
    return [(0, top, width, bottom - top) for top, bottom in merged if bottom > top]


@dataclass
class Scan:
    """The result of `scan_clip`.

    `detected`: boxes per frame a detector looked at (every looked-at frame is a key, maybe with []);
    `examined`: per kind, the frames that detector saw whole (the others of `detected` were looked
    at in bands only); `refined`: per interval sampled finely, [first coarse, next coarse, kinds, why].
    """

    detected: ClipDetections
    coarse_step: int
    coarse: list[int]
    examined: dict[str, set[int]] = field(default_factory=dict)
    refined: list[list[object]] = field(default_factory=list)
    reused: int = 0  # looks skipped because the picture had not changed (`_Scanner.unchanged`)
    decoded: DecodedClip | None = None  # every frame, when they fit in `frame_memory_mb` (for the redaction)

    def redacted(self, every_n: int, min_iou: float) -> ClipDetections:
        """The boxes to blur: `detected`, plus boxes between samples (see the module doc): matched
        boxes' hulls bridged over the frames between, unmatched text held over its interval.
        Keys are looked-at frames and fine frames between coarse samples that carry a box."""
        det = self.detected
        frames: dict[int, list[Box]] = {i: list(boxes) for i, boxes in det.frames.items()}
        grid = sorted(set(det.frames) | {f for a, b in pairwise(self.coarse)
                                         for f in between(a, b, every_n)})

        def add(index: int, box: Box) -> None:
            present = frames.setdefault(index, [])
            if not any(contains(other, box) for other in present):
                present.append(box)

        for kind, seen in self.examined.items():
            order = sorted(seen)
            for pos, p in enumerate(order):
                for box in (b for b in det.frames.get(p, []) if b.kind == kind):
                    for q in order[pos + 1 :]:
                        if q - p > self.coarse_step:
                            break
                        pairs, _, _ = match([box], [b for b in det.frames.get(q, []) if b.kind == kind], min_iou)
                        if pairs:
                            joined = hull(*pairs[0])
                            for r in grid[bisect_right(grid, p) : bisect_left(grid, q)]:
                                add(r, joined)
                            break
        for a, b in pairwise(self.coarse):
            at_a = [x for x in det.frames.get(a, []) if x.kind == "text"]
            at_b = [x for x in det.frames.get(b, []) if x.kind == "text"]
            _, gone, came = match(at_a, at_b, min_iou)
            for r in grid[bisect_right(grid, a) : bisect_left(grid, b)]:
                for box in (*gone, *came):
                    add(r, box)
        kept = {i: boxes for i, boxes in frames.items() if boxes or i in det.frames}
        return ClipDetections(det.width, det.height, det.fps, det.total_frames, dict(sorted(kept.items())))


def confirm_weak_faces(scan: Scan, strong: float, min_iou: float) -> None:
    """Drop the faces scoring under `strong` that do not continue a strong one (module doc, step 3):
    a weak face is kept when it matches (IoU >= `min_iou`) a kept face at the previous or next frame
    the face detector saw whole, at most `coarse_step` frames away; repeated until nothing changes."""
    order = sorted(scan.examined.get("face", ()))
    frames = scan.detected.frames
    faces = {f: [b for b in frames.get(f, []) if b.kind == "face"] for f in order}
    keep = {f: [b.score >= strong for b in faces[f]] for f in order}
    changed = True
    while changed:
        changed = False
        for pos, f in enumerate(order):
            neighbours = [order[k] for k in (pos - 1, pos + 1)
                          if 0 <= k < len(order) and abs(order[k] - f) <= scan.coarse_step]
            for i, box in enumerate(faces[f]):
                if keep[f][i]:
                    continue
                if any(keep[n][j] and iou(box, other) >= min_iou for n in neighbours
                       for j, other in enumerate(faces[n])):
                    keep[f][i] = changed = True
    for f in order:
        kept = [box for box, ok in zip(faces[f], keep[f], strict=True) if ok]
        frames[f] = [b for b in frames[f] if b.kind != "face"] + kept


def only(detectors: Detectors, kind: str) -> Detectors:
    """The detectors, restricted to the one for `kind`."""
    return Detectors(face=detectors.face if kind == "face" else None, text=detectors.text if kind == "text" else None)


class _Scanner:
    """The streaming state of `scan_clip`: frames kept until their interval is decided."""

    def __init__(self, detectors: Detectors, config: PrivacyConfig, width: int, height: int, total: int,
                 fps: float, coarse: list[int], step: int) -> None:
        self.detectors, self.config = detectors, config
        self.width, self.height = width, height
        self.kinds = [d.kind for d in detectors.active]
        self.scan = Scan(detected=ClipDetections(width, height, fps, total, {}), coarse_step=step, coarse=coarse,
                         examined={kind: set() for kind in self.kinds})
        self.kept: dict[int, np.ndarray] = {}  # I420 frames of the grid not yet decided
        self.pending: list[int] = []  # coarse samples not yet detected
        self.last: int | None = None  # the last decided coarse sample
        self.diffs = [0.0] * total  # mean absolute change of the shrunk luma from the frame before
        self._thumb: np.ndarray | None = None
        self.thumbs: dict[int, np.ndarray] = {}  # shrunk luma of the kept frames
        self.looked: dict[str, tuple[int, np.ndarray]] = {}  # per kind: the last frame it looked at
        self.reused = 0

    def see(self, index: int, frame: np.ndarray) -> None:
        import cv2

        luma = planes(frame, self.width, self.height)[0]
        size = (max(1, self.width // THUMB_DIVISOR), max(1, self.height // THUMB_DIVISOR))
        thumb = cv2.resize(luma, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        if self._thumb is not None:
            self.diffs[index] = float(np.abs(thumb - self._thumb).mean())
        self._thumb = thumb
        if index in self.kept:
            self.thumbs[index] = thumb

    def rgb(self, index: int) -> np.ndarray:
        return to_rgb(self.kept[index], self.width, self.height)

    def decide(self, final: bool = False) -> None:
        """Faces on every kept grid frame, text on the pending coarse samples (both in batches), then
        the text of each interval before them (`final`: also the grid frames after the last sample)."""
        if not self.pending and not (final and self.kept):
            return
        detected = self.scan.detected.frames
        upto = max(self.kept) if final else self.pending[-1]
        rgb = {i: self.rgb(i) for i in self.kept if i <= upto}
        for kind, frames in (("face", sorted(rgb)), ("text", self.pending)):
            if kind not in self.kinds:
                continue
            todo, same = self.unchanged(kind, frames)
            found = detect_frames([rgb[i] for i in todo], only(self.detectors, kind), self.config.batch_size)
            for index, boxes in zip(todo, found, strict=True):
                detected.setdefault(index, []).extend(boxes)
            for index, source in same.items():
                detected.setdefault(index, []).extend(b for b in detected[source] if b.kind == kind)
            self.scan.examined[kind].update(frames)
        for index in self.pending:
            if self.last is not None and "text" in self.kinds:
                self.refine_text(self.last, index, rgb)
            self.last = index
        self.kept = {i: f for i, f in self.kept.items() if i > upto}
        self.thumbs = {i: t for i, t in self.thumbs.items() if i > upto}
        self.pending = []

    def unchanged(self, kind: str, frames: list[int]) -> tuple[list[int], dict[int, int]]:
        """Split `frames` into those the `kind` detector must look at and those showing the same
        picture as the last frame it looked at (no cell of the shrunk luma changed by
        `static_change` grey levels or more: a still title card, slide or paused shot), which get
        that frame's boxes: {frame: frame looked at}. Compared with the frame actually looked at,
        so slow changes add up."""
        todo: list[int] = []
        same: dict[int, int] = {}
        for index in frames:
            last = self.looked.get(kind)
            thumb = self.thumbs[index]
            if last is not None and float(np.abs(thumb - last[1]).max()) < self.config.static_change:
                same[index] = last[0]
                self.reused += 1
            else:
                todo.append(index)
                self.looked[kind] = (index, thumb)
        return todo, same

    def refine_text(self, a: int, b: int, rgb: dict[int, np.ndarray]) -> None:
        """Text on the grid frames between coarse samples a and b where the module doc says so."""
        cfg = self.config
        points = [p for p in sorted(rgb) if a < p < b]
        if not points:
            return
        detected = self.scan.detected.frames
        # Changes at frames a+1..b-1 (each with both neighbours; one at b starts what b shows).
        changes = abrupt_changes(self.diffs[a : b + 1], self.diffs[1 : b + 1], cfg.change_ratio, cfg.change_floor)
        detector = self.detectors.of_kind("text")
        assert detector is not None
        if changes >= 2:
            found = detect_frames([rgb[p] for p in points], only(self.detectors, "text"), cfg.batch_size)
            for p, boxes in zip(points, found, strict=True):
                detected.setdefault(p, []).extend(boxes)
                self.scan.examined["text"].add(p)
            self.scan.refined.append([a, b, "frames", f"{changes} abrupt changes"])
            return
        _, gone, came = match([x for x in detected[a] if x.kind == "text"],
                              [x for x in detected[b] if x.kind == "text"], cfg.match_iou)
        if not gone and not came:
            return
        bands = text_bands([*gone, *came], self.width, self.height)
        for p in points:
            detected.setdefault(p, []).extend(detector.detect_regions(rgb[p], bands))
        why = "text came and went" if gone and came else "text went" if gone else "text came"
        self.scan.refined.append([a, b, "bands", why])


def scan_clip(path: Path, detectors: Detectors, config: PrivacyConfig) -> Scan:
    """Detect faces and text over a clip (module doc). Raises MediaError when the clip cannot be decoded."""
    timeline = read_timeline(path)
    total = timeline.total_frames
    step = coarse_step(timeline.fps, config.every_n_frames, config.coarse_every_s)
    coarse = coarse_frames(total, step, config.every_n_frames)
    grid = set(range(0, total, config.every_n_frames)) | set(coarse)
    reader = YuvReader(path, timeline, timeout_s=config.timeout_s)
    weak = None
    if isinstance(detectors.face, YuNetFaceDetector) and config.yunet_track_threshold < detectors.face.threshold:
        weak = detectors.face.with_threshold(config.yunet_track_threshold)
    looking = Detectors(face=weak, text=detectors.text) if weak is not None else detectors
    scanner = _Scanner(looking, config, reader.width, reader.height, total, timeline.fps, coarse, step)
    coarse_set = set(coarse)
    # Frames are new arrays each, so keeping them all costs no copy, only the memory.
    keep = total * reader.frame_bytes <= config.frame_memory_mb * 2**20
    frames: list[np.ndarray] = []
    for index, frame in reader:
        if keep:
            frames.append(frame)
        if index in grid:
            scanner.kept[index] = frame
        scanner.see(index, frame)
        if index in coarse_set:
            scanner.pending.append(index)
            if len(scanner.pending) == config.batch_size:
                scanner.decide()
    scanner.decide(final=True)
    scanner.scan.reused = scanner.reused
    if keep:
        scanner.scan.decoded = DecodedClip(reader.timeline, reader.width, reader.height, frames)
    if weak is not None:
        confirm_weak_faces(scanner.scan, detectors.face.threshold, config.match_iou)
    return scanner.scan
