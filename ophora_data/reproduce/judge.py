"""Judge a re-made clip against its recorded fingerprint, and explain a mismatch.

A clip that does not match at its recorded window is searched for in the source within
`reproduce.max_shift_s`: found elsewhere, the source was trimmed or padded ("shifted");
not found, the content itself changed, and the reason lists the frames that differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ophora_data.config import Config
from ophora_data.media.fingerprint import (
    Comparison,
    Fingerprint,
    best_shift,
    box_cells,
    cell_means,
    luma_frames,
)
from ophora_data.media.timeline import Timeline
from ophora_data.reproduce.manifest import Record
from ophora_data.reproduce.remake import boxes_per_frame
from ophora_data.stages.base import Row, check_row, flag_row

VERIFIED, SHIFTED, CHANGED, FRAMES = "verified", "shifted", "changed", "frame_count"


@dataclass(frozen=True)
class Shift:
    frames: int  # where the clip's content starts now, relative to the recorded window
    seconds: float
    difference: float  # the largest cell difference at that placement
    lost: int = 0  # frames of the clip that are no longer in the source at all

    def reason(self) -> str:
        where = "earlier" if self.frames < 0 else "later"
        lost = f"; {self.lost} of its frames are no longer in the source" if self.lost else ""
        return (f"source shifted: the clip's frames now start {abs(self.seconds):.3f} s {where} "
                f"({self.frames:+d} frames){lost}; the source was trimmed or padded since the release")


def find_shift(expected: Fingerprint, record: Record, source: Path, timeline: Timeline, nominal_first: int,
               config: Config) -> Shift | None:
    """The best placement of the clip within `max_shift_s` of `nominal_first` when it is not the
    recorded one and matches within `reproduce.luma_difference`; else None."""
    interval = timeline.frame_interval
    margin = int(round(config.reproduce.max_shift_s / interval)) if interval > 0 else 0
    total = timeline.total_frames
    lo, hi = max(0, nominal_first - margin), min(total, nominal_first + expected.frames + margin)
    if margin == 0 or hi - lo < (expected.frames + 1) // 2:
        return None
    seek = timeline.midpoint_before(lo)
    frames = luma_frames(source, seek_s=seek, duration_s=timeline.midpoint_before(hi) - max(seek, 0.0),
                         timeout_s=config.reproduce.timeout_s)
    clip = record["clip"]
    ignore = box_cells(boxes_per_frame(record, expected.frames), int(clip["width"]), int(clip["height"]))
    limit = config.reproduce.luma_difference.max
    best = best_shift(expected.cells, cell_means(frames), nominal_first - lo, 255.0 if limit is None else limit,
                      ignore)
    if best is None or best[0] == 0:
        return None
    return Shift(best[0], best[0] * interval, best[1], expected.frames - best[2])


def _frames_text(comparison: Comparison, interval: float, luma_max: float | None) -> str:
    runs = comparison.differing
    listed = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in runs[:4]) + (" ..." if len(runs) > 4 else "")
    first, last = runs[0][0], runs[-1][1]
    return (f"content differs in frames {listed} of {comparison.expected_frames} "
            f"({first * interval:.3f}-{(last + 1) * interval:.3f} s into the clip): up to "
            f"{comparison.luma_difference:g} luma levels (> {luma_max:g})")


def mismatch_reason(comparison: Comparison, shift: Shift | None, interval: float, config: Config,
                    source_fps: float | None, recorded_fps: float | None) -> tuple[str, str]:
    """(verdict, reason) for a clip that failed a check."""
    if shift is not None:
        return SHIFTED, shift.reason()
    if not comparison.same_frame_count:
        rates = (f"; source frame rate {source_fps:g} fps, the release's source {recorded_fps:g} fps"
                 if source_fps and recorded_fps and abs(source_fps - recorded_fps) > 1e-3 else "")
        return FRAMES, (f"frame count differs: {comparison.actual_frames} frames, the release has "
                        f"{comparison.expected_frames}{rates}")
    luma_max = config.reproduce.luma_difference.max
    if comparison.differing:
        return CHANGED, _frames_text(comparison, interval, luma_max)
    return CHANGED, (f"content differs: perceptual hash distance {comparison.hash_distance} bits "
                     f"(> {config.reproduce.hash_distance.max:g})")


def check_rows(clip_id: str, comparison: Comparison, verdict: str, reason: str, config: Config,
               common: dict[str, Any]) -> list[Row]:
    """One check row per measure (values stored, so new bounds re-judge without re-making clips)."""
    cfg = config.reproduce
    rows = [
        flag_row("clip_id", clip_id, "frame_count", comparison.same_frame_count, reason,
                 expected_frames=comparison.expected_frames, actual_frames=comparison.actual_frames),
        check_row("clip_id", clip_id, "luma_difference", comparison.luma_difference, cfg.luma_difference),
        check_row("clip_id", clip_id, "hash_distance", float(comparison.hash_distance), cfg.hash_distance),
    ]
    for row in rows:
        row.update(common, verdict=verdict)
        if not row["passed"]:
            row["reason"] = reason
    return rows


def is_match(comparison: Comparison, config: Config) -> bool:
    cfg = config.reproduce
    return (comparison.same_frame_count and cfg.luma_difference.accepts(comparison.luma_difference)
            and cfg.hash_distance.accepts(comparison.hash_distance))
