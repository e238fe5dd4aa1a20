"""The normalised transcript every importer and the ASR path produce, written in WhisperX's format.

WhisperX JSON (`segments[{start, end, text, words[{word, start, end, score}]}]`, `language`) is the
one format later stages read. Words whose times were not measured (subtitle cues, unaligned words)
carry `interpolated: true`, so nobody mistakes a spread-out time for an aligned one. Segments a
repair changed say so (`repairs`), and what was dropped or repaired is listed under
`ophora.segment_issues`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ophora_data.transcripts.issues import SegmentIssue


@dataclass(frozen=True)
class Word:
    """One word; times in seconds. `interpolated`: its times were spread or re-timed, not measured."""

    word: str
    start: float
    end: float
    score: float | None = None
    interpolated: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3),
                                "score": None if self.score is None else round(self.score, 3)}
        if self.interpolated:
            data["interpolated"] = True
        return data


@dataclass(frozen=True)
class Segment:
    """A span of narration in spoken order (seconds); its words are in the order they were spoken.

    `index` is its position in the source, so issues can point at it. `atomic`: a repair invented
    all its word times (re-spread over the segment), so windows start and end at its edges and never
    join it to a neighbour's words. `repairs`: the issue kinds that changed it.
    """

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    index: int = 0
    repairs: tuple[str, ...] = ()
    atomic: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                                "words": [w.to_dict() for w in self.words]}
        if self.repairs:
            data["repairs"] = list(self.repairs)
        if self.atomic:
            data["atomic"] = True
        return data

    def issue(self, action: str, kind: str, detail: str = "", removed: Sequence[str] = ()) -> SegmentIssue:
        """An issue about this segment; `removed` are the texts it lost (counted as words)."""
        text = " ".join(removed)
        return SegmentIssue(self.index, self.start, self.end, action, kind, detail, text, len(text.split()))

    def repaired(self, kind: str, **changes: Any) -> Segment:
        """A copy with `changes` applied and `kind` added to its repairs."""
        repairs = self.repairs if kind in self.repairs else (*self.repairs, kind)
        return replace(self, repairs=repairs, **changes)


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str | None
    source: str  # import:whisperx, import:whisper-timestamped, import:vtt, import:srt, asr
    origin: str | None = None  # the imported file, or the ASR model name
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in the JSON as "ophora"
    issues: tuple[SegmentIssue, ...] = ()  # segments dropped or repaired on the way

    @property
    def words(self) -> list[Word]:
        return [w for segment in self.segments for w in segment.words]

    def with_segments(self, segments: tuple[Segment, ...]) -> Transcript:
        return replace(self, segments=segments)

    def to_whisperx(self) -> dict[str, Any]:
        segments = [s.to_dict() for s in self.segments]
        return {
            "language": self.language,
            "segments": segments,
            "word_segments": [w for s in segments for w in s["words"]],
            "ophora": {"source": self.source, "origin": self.origin, **self.extra,
                       "segment_issues": [issue.to_dict() for issue in self.issues]},
        }


def number(value: Any) -> float | None:
    """A finite float, or None for missing, NaN, infinite or non-numeric values."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def spread_words(text: str, start: float, end: float) -> tuple[Word, ...]:
    """Words of a timed span with times spread in proportion to their length (+1 for the space)."""
    texts = text.split()
    if not texts:
        return ()
    end = max(end, start)
    weights = [len(t) + 1 for t in texts]
    total = sum(weights)
    words, cursor = [], start
    for text_piece, weight in zip(texts, weights, strict=True):
        step = (end - start) * weight / total
        words.append(Word(text_piece, cursor, cursor + step, None, True))
        cursor += step
    return tuple(words)


RawWord = tuple[str, float | None, float | None, float | None, bool]  # text, start, end, score, interpolated


def fill_missing_times(raw: list[RawWord], seg_start: float, seg_end: float) -> tuple[Word, ...]:
    """Raw entries -> Words; untimed ones share the gap up to the next timed word, marked interpolated.

    WhisperX leaves words it cannot align (numbers, symbols) without times; a segmenter still
    needs a time for every word, so they get one, and the file says it was not measured.
    """
    words: list[Word] = []
    for index, (text, start, end, score, interpolated) in enumerate(raw):
        if start is not None and end is not None and end >= start:
            words.append(Word(text, start, end, score, interpolated))
            continue
        lower = words[-1].end if words else seg_start
        following = [entry[1] for entry in raw[index + 1 :]]
        gap = next((k for k, value in enumerate(following) if value is not None), len(following))
        upper = following[gap] if gap < len(following) else seg_end
        upper = max(upper if upper is not None else seg_end, lower)
        step = (upper - lower) / (gap + 1)
        words.append(Word(text, lower, lower + step, score, True))
    return tuple(words)
