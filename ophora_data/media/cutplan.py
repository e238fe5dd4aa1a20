"""Plan the cuts of one source: frame-exact windows grouped into decode passes.

A window [start, end) in seconds keeps exactly the source frames whose time t satisfies
start <= t < end. Every boundary handed to ffmpeg is the midpoint between two frames,
so neither float rounding nor timestamp jitter can move it onto a neighbouring frame.

Encoding costs the same whatever the strategy; what differs is decoding. Input seeking
to a window decodes from the keyframe before it ("pre-roll"); one pass over several
windows decodes the gaps between them instead. `plan_passes` merges a window into the
current pass when decoding the gap costs less than seeking to it again (its pre-roll
plus the cost of starting one more process, both in decoded frames).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ophora_data.media.timeline import Timeline

Strategy = Literal["auto", "seek", "single_pass"]


@dataclass(frozen=True)
class ClipWindow:
    clip_id: str
    start: float  # requested window, seconds from the file start
    end: float
    first: int  # source frame indices [first, stop)
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.first


@dataclass
class DecodePass:
    """One ffmpeg process: seek once, decode to the end of the last window, encode each window."""

    windows: list[ClipWindow] = field(default_factory=list)

    @property
    def first(self) -> int:
        return min(w.first for w in self.windows)

    @property
    def stop(self) -> int:
        return max(w.stop for w in self.windows)

    @property
    def mode(self) -> str:
        return "seek" if len(self.windows) == 1 else "single_pass"


def frame_window(timeline: Timeline, clip_id: str, start: float, end: float) -> ClipWindow:
    first, stop = timeline.frames_in(start, end)
    return ClipWindow(clip_id=clip_id, start=start, end=end, first=first, stop=stop)


def keyframe_before(keyframes: Sequence[int], index: int) -> int:
    """The last keyframe at or before `index` (0 when the index lists none)."""
    position = bisect_right(keyframes, index)
    return keyframes[position - 1] if position else 0


def plan_passes(
    windows: Sequence[ClipWindow],
    keyframes: Sequence[int],
    strategy: Strategy,
    seek_overhead_frames: int,
    max_outputs: int,
) -> list[DecodePass]:
    """Group windows (any order, possibly overlapping) into decode passes."""
    passes: list[DecodePass] = []
    for window in sorted(windows, key=lambda w: (w.first, w.stop)):
        current = passes[-1] if passes else None
        if current is not None and len(current.windows) < max_outputs and strategy != "seek":
            gap = window.first - current.stop  # frames decoded only to bridge to this window
            pre_roll = window.first - keyframe_before(keyframes, window.first)
            if strategy == "single_pass" or gap <= pre_roll + seek_overhead_frames:
                current.windows.append(window)
                continue
        passes.append(DecodePass([window]))
    return passes


def decoded_frames(passes: Sequence[DecodePass], keyframes: Sequence[int]) -> int:
    """Frames a plan decodes (for the benchmark and the row): from each seek's keyframe to its end."""
    return sum(p.stop - keyframe_before(keyframes, p.first) for p in passes)


def output_size(display_w: int, display_h: int, max_short_side: int) -> tuple[int, int]:
    """Even dimensions, the short side capped (1080 means 1080p for landscape and portrait alike)."""
    short = min(display_w, display_h)
    if short > max_short_side:
        scale = max_short_side / short
        return _even(display_w * scale), _even(display_h * scale)
    return display_w - display_w % 2, display_h - display_h % 2


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))
