"""Clip fingerprints: does a re-made clip show the same frames as the published one?

Method `ophora-fp1` (named in every release card and manifest record):

- every frame is decoded by ffmpeg and scaled to 64x64 luma with area averaging, so the
  fingerprint does not depend on the clip's resolution or on which decoder library is installed;
- `cells`: per frame, the mean luma (0-255) of each cell of a 4x4 grid: 16 bytes per frame,
  stored zlib-compressed and base64-encoded. Every frame counts, so a replaced scene is seen
  even when it overlaps a clip by a few frames;
- `phash`: the 64-bit DCT perceptual hash (`imagehash.phash`, hash size 8; Zauner 2010) of
  `HASH_FRAMES` frames, the middle frame of each of that many equal spans of the clip;
- `frames`: the exact frame count.

Two clips match when the frame counts are equal, no frame has a cell whose mean differs by
more than `reproduce.luma_difference.max` levels, and no hashed frame differs in more than
`reproduce.hash_distance.max` bits. Measured on the demo video's six clips: a re-encode at
854x480 CRF 35 differs by at most 1.0 luma levels and 6 bits; a 1 s shift by 5.4-10 levels
and 14-26 bits; a replaced scene by over 100 levels in exactly the replaced frames.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ophora_data.media.runner import MediaError, run_tool

METHOD = "ophora-fp1"
SIZE = 64  # decoded frames are SIZE x SIZE luma
GRID = 4  # cells per side
HASH_FRAMES = 8


def _decode_argv(path: Path, seek_s: float | None, duration_s: float | None) -> list[str]:
    seek = ["-ss", f"{max(seek_s, 0.0):.6f}"] if seek_s is not None else []
    limit = ["-t", f"{duration_s:.6f}"] if duration_s is not None else []
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *seek, *limit, "-i", str(path),
            "-map", "0:v:0", "-vf", f"scale={SIZE}:{SIZE}:flags=area,format=gray",
            "-fps_mode", "passthrough", "-f", "rawvideo", "-"]


def luma_frames(path: Path, seek_s: float | None = None, duration_s: float | None = None,
                timeout_s: float = 600.0) -> np.ndarray:
    """Frames of `path` (optionally from `seek_s` for `duration_s` seconds) as (N, 64, 64) uint8 luma.

    Raises MediaError when ffmpeg fails or no frame decodes.
    """
    raw = run_tool(_decode_argv(Path(path), seek_s, duration_s), timeout_s=timeout_s)
    frame_bytes = SIZE * SIZE
    if not raw or len(raw) % frame_bytes:
        raise MediaError(f"no whole decoded frames from {Path(path).name} ({len(raw)} bytes)")
    return np.frombuffer(raw, np.uint8).reshape(-1, SIZE, SIZE)


def cell_means(frames: np.ndarray) -> np.ndarray:
    """(N, 64, 64) luma -> (N, 16) uint8: the rounded mean of each 16x16 cell, row by row."""
    step = SIZE // GRID
    blocks = frames.reshape(len(frames), GRID, step, GRID, step).astype(np.float32).mean(axis=(2, 4))
    return np.clip(np.rint(blocks), 0, 255).astype(np.uint8).reshape(len(frames), GRID * GRID)


def hash_indices(total: int, count: int = HASH_FRAMES) -> list[int]:
    """The middle frame of each of `count` equal spans (fewer when the clip has fewer frames)."""
    return sorted({min(total - 1, int((k + 0.5) * total / count)) for k in range(count)}) if total else []


def phash_hex(frame: np.ndarray) -> str:
    """64-bit pHash of one luma frame as 16 hex digits (imagehash: 32x32 DCT, 8x8 low band vs median)."""
    import imagehash
    from PIL import Image

    return str(imagehash.phash(Image.fromarray(frame), hash_size=8))


def box_cells(boxes_per_frame: list[list[object]], width: int, height: int) -> np.ndarray:
    """(frames, 16) bool: the cells each frame's boxes (x, y, w, h in pixels of a width x height frame)
    touch. Blurred areas differ from an unredacted source, so a search there ignores them."""
    mask = np.zeros((len(boxes_per_frame), GRID * GRID), bool)
    for index, boxes in enumerate(boxes_per_frame):
        for box in boxes:
            x, y, w, h = (int(getattr(box, k)) for k in ("x", "y", "w", "h"))
            cols = range(max(0, x * GRID // width), min(GRID, (x + max(w, 1) - 1) * GRID // width + 1))
            rows = range(max(0, y * GRID // height), min(GRID, (y + max(h, 1) - 1) * GRID // height + 1))
            for r in rows:
                mask[index, [r * GRID + c for c in cols]] = True
    return mask


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@dataclass(frozen=True)
class Fingerprint:
    frames: int
    hash_frames: tuple[int, ...]
    phash: tuple[str, ...]
    cells: np.ndarray  # (frames, 16) uint8
    method: str = METHOD

    def to_json(self) -> dict[str, Any]:
        packed = base64.b64encode(zlib.compress(self.cells.tobytes(), 9)).decode("ascii")
        return {"method": self.method, "frames": self.frames, "hash_frames": list(self.hash_frames),
                "phash": list(self.phash), "cells": packed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        """Raises ValueError for another method or a damaged record."""
        if data.get("method") != METHOD:
            raise ValueError(f"fingerprint method {data.get('method')!r} is not {METHOD!r}")
        frames = int(data["frames"])
        try:
            cells = np.frombuffer(zlib.decompress(base64.b64decode(data["cells"])), np.uint8)
        except (ValueError, zlib.error) as exc:
            raise ValueError(f"fingerprint cells do not decode: {exc}") from exc
        if cells.size != frames * GRID * GRID:
            raise ValueError(f"fingerprint has {cells.size} cell values for {frames} frames")
        return cls(frames, tuple(int(i) for i in data["hash_frames"]), tuple(str(h) for h in data["phash"]),
                   cells.reshape(frames, GRID * GRID))


def fingerprint_frames(frames: np.ndarray) -> Fingerprint:
    indices = hash_indices(len(frames))
    return Fingerprint(len(frames), tuple(indices), tuple(phash_hex(frames[i]) for i in indices),
                       cell_means(frames))


def fingerprint_clip(path: Path, timeout_s: float = 600.0) -> Fingerprint:
    """The fingerprint of a whole clip file; MediaError when it does not decode."""
    return fingerprint_frames(luma_frames(path, timeout_s=timeout_s))


@dataclass(frozen=True)
class Comparison:
    """How a re-made clip differs from the recorded fingerprint."""

    expected_frames: int
    actual_frames: int
    luma_difference: float  # the largest per-cell mean difference over all compared frames
    hash_distance: int  # the most differing pHash bits over the hashed frames
    differing: tuple[tuple[int, int], ...]  # [first, last] frame runs whose cells differ beyond the bound

    @property
    def same_frame_count(self) -> bool:
        return self.expected_frames == self.actual_frames


def per_frame_difference(expected: np.ndarray, actual: np.ndarray, ignore: np.ndarray | None = None) -> np.ndarray:
    """Largest absolute cell difference of each frame pair (over the shorter sequence); cells where
    `ignore` (same shape as `expected`) is True do not count."""
    n = min(len(expected), len(actual))
    diff = np.abs(expected[:n].astype(np.int16) - actual[:n].astype(np.int16))
    if ignore is not None:
        diff[ignore[:n]] = 0
    return diff.max(axis=1, initial=0)


def _runs(mask: np.ndarray) -> tuple[tuple[int, int], ...]:
    runs, start = [], None
    for index, flagged in enumerate(mask.tolist() + [False]):
        if flagged and start is None:
            start = index
        elif not flagged and start is not None:
            runs.append((start, index - 1))
            start = None
    return tuple(runs)


def compare(expected: Fingerprint, actual: Fingerprint, luma_max: float) -> Comparison:
    """Compare frame by frame; `luma_max` only decides which frames are listed as differing."""
    diff = per_frame_difference(expected.cells, actual.cells)
    wanted = dict(zip(expected.hash_frames, expected.phash, strict=True))
    got = dict(zip(actual.hash_frames, actual.phash, strict=True))
    shared = [i for i in wanted if i in got]
    if expected.frames == actual.frames and len(shared) == len(wanted):
        distance = max((hamming(wanted[i], got[i]) for i in shared), default=0)
    else:
        distance = 64  # other frames were hashed: nothing comparable, count every bit
    return Comparison(expected.frames, actual.frames, float(diff.max(initial=0)), distance,
                      _runs(diff > luma_max))


def best_shift(expected: np.ndarray, source: np.ndarray, nominal: int, bound: float,
               ignore: np.ndarray | None = None) -> tuple[int, float, int] | None:
    """Where the expected cell sequence sits in `source` cells within `bound`: (offset of its first frame
    from `nominal`, the largest per-frame difference there, frames overlapping the source).

    `nominal` is the index in `source` where the clip should start. The sequence may hang off either end
    of `source` by up to half its length (a trimmed source lost the clip's start or end). Among matching
    placements the one with the most overlap wins, then the one nearest `nominal`. None when nothing
    matches.
    """
    n = len(expected)
    min_overlap = max(1, (n + 1) // 2)
    best: tuple[int, float, int] | None = None
    for start in range(-(n - min_overlap), len(source) - min_overlap + 1):
        first, at = max(0, -start), max(0, start)  # into expected, into source
        overlap = min(n - first, len(source) - at)
        if overlap < min_overlap:
            continue
        mask = None if ignore is None else ignore[first:first + overlap]
        worst = float(per_frame_difference(expected[first:first + overlap], source[at:at + overlap], mask)
                      .max(initial=0))
        if worst > bound:
            continue
        candidate = (start - nominal, worst, overlap)
        if best is None or (-overlap, abs(candidate[0])) < (-best[2], abs(best[0])):
            best = candidate
    return best
