"""Clip windows from sentences: merge short ones, split long ones at the longest pause.

Windows are ranges of whole words in spoken order (the transcript's order, never re-sorted by
time), so a boundary never falls inside a word and no word is in two windows; padding is
clamped so it never reaches into a neighbouring word (or the neighbouring window). A
pause of `silence_split_s` always ends a window, and so does the edge of an `atomic` segment
(one whose word times a repair invented: it is never merged with its neighbours' words).
Windows that still miss [min_s, max_s] are returned with a reason, for the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from ophora_data.config.segment import SegmentConfig
from ophora_data.text.words import Word

_EPS = 1e-6


@dataclass(frozen=True)
class Window:
    first: int  # index of the first word
    stop: int  # one past the last word
    start: float
    end: float
    reason: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start


class _Timeline:
    """Word times with running maxima, so overlapping ASR words never get cut."""

    def __init__(self, words: list[Word], pad_s: float, media_end: float | None = None) -> None:
        self.words = words
        self.pad = pad_s
        self.media_end = media_end
        self.max_end: list[float] = []
        for word in words:
            self.max_end.append(max(word.end, self.max_end[-1] if self.max_end else word.end))

    def hard_edge(self, index: int) -> bool:
        """True between two segments when either one is atomic: no window may cross it."""
        before, after = self.words[index - 1], self.words[index]
        return before.segment != after.segment and (before.atomic or after.atomic)

    def gap_before(self, index: int) -> float:
        """Silence between word index-1 and word index (negative when the words overlap)."""
        return self.words[index].start - self.max_end[index - 1]

    def span(self, first: int, stop: int) -> tuple[float, float]:
        """The padded [start, end] of words first..stop-1: at most half of each neighbouring gap."""
        words, pad = self.words, self.pad
        start = words[first].start - pad
        if first > 0:
            start = max(start, (self.max_end[first - 1] + words[first].start) / 2)
        start = min(max(start, 0.0), words[first].start)
        end = self.max_end[stop - 1] + pad
        if stop < len(words):
            end = min(end, max((self.max_end[stop - 1] + words[stop].start) / 2, self.max_end[stop - 1]))
        if self.media_end is not None:
            end = min(end, self.media_end)
        return round(start, 3), round(end, 3)

    def length(self, first: int, stop: int) -> float:
        start, end = self.span(first, stop)
        return end - start


def _units(timeline: _Timeline, sentences: list[tuple[int, int]], silence_s: float) -> list[tuple[int, int]]:
    """Sentences, also cut at every long silence and at the edges of atomic segments."""
    units = []
    for first, stop in sentences:
        begin = first
        for index in range(first + 1, stop):
            if timeline.gap_before(index) >= silence_s or timeline.hard_edge(index):
                units.append((begin, index))
                begin = index
        units.append((begin, stop))
    return units


def _split_long(timeline: _Timeline, first: int, stop: int, cfg: SegmentConfig) -> list[tuple[int, int]]:
    if timeline.length(first, stop) <= cfg.max_s or stop - first < 2:
        return [(first, stop)]
    cuts = [k for k in range(first + 1, stop) if timeline.gap_before(k) >= 0]
    if not cuts:
        return [(first, stop)]
    balanced = [k for k in cuts
                if timeline.length(first, k) >= cfg.min_s and timeline.length(k, stop) >= cfg.min_s]
    # The longest pause wins; ties go to the cut nearest the middle (more even halves).
    middle = (first + stop) / 2
    cut = max(balanced or cuts, key=lambda k: (round(timeline.gap_before(k), 3), -abs(k - middle)))
    return _split_long(timeline, first, cut, cfg) + _split_long(timeline, cut, stop, cfg)


Ranges = list[tuple[int, int]]


def _merge_short(timeline: _Timeline, units: Ranges, cfg: SegmentConfig) -> Ranges:
    merged: list[tuple[int, int]] = []
    for first, stop in units:
        if merged:
            prev_first, prev_stop = merged[-1]
            joinable = (prev_stop == first and timeline.gap_before(first) < cfg.silence_split_s
                        and not timeline.hard_edge(first))
            short = min(timeline.length(prev_first, prev_stop), timeline.length(first, stop)) < cfg.min_s
            if joinable and short and timeline.length(prev_first, stop) <= cfg.max_s:
                merged[-1] = (prev_first, stop)
                continue
        merged.append((first, stop))
    return merged


def _reason(start: float, end: float, cfg: SegmentConfig, media_end: float | None) -> str:
    if media_end is not None and start >= media_end - _EPS:
        return f"window starts at {start:.2f} s, after the end of the video ({media_end:.2f} s)"
    duration = end - start
    if duration < cfg.min_s - _EPS:
        return f"window {duration:.2f} s shorter than segment.min_s {cfg.min_s:g} s"
    if duration > cfg.max_s + _EPS:
        return f"window {duration:.2f} s longer than segment.max_s {cfg.max_s:g} s (no pause to split at)"
    return ""


def plan_windows(
    words: list[Word], sentences: list[tuple[int, int]], cfg: SegmentConfig, media_end: float | None = None
) -> list[Window]:
    """Windows in time order; `reason` is non-empty for windows outside the bounds."""
    if not words:
        return []
    # Speech after the end of the video (a transcript longer than the media) is one rejected window.
    inside = len(words) if media_end is None else sum(1 for w in words if w.start < media_end - _EPS)
    timeline = _Timeline(words[:inside], cfg.pad_s, media_end)
    sentences = [(first, min(stop, inside)) for first, stop in sentences if first < inside]
    units = [piece for first, stop in _units(timeline, sentences, cfg.silence_split_s)
             for piece in _split_long(timeline, first, stop, cfg)]
    windows = []
    for first, stop in _merge_short(timeline, units, cfg):
        start, end = timeline.span(first, stop)
        windows.append(Window(first, stop, start, end, _reason(start, end, cfg, media_end)))
    if inside < len(words):
        start, end = words[inside].start, max(w.end for w in words[inside:])
        windows.append(Window(inside, len(words), start, end, _reason(start, end, cfg, media_end)))
    return windows
