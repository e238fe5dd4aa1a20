"""Timed words from a WhisperX-format transcript, with gaps in the timing filled in.

WhisperX leaves some words unaligned (numbers, symbols) and imported subtitles have only
segment times; a segmenter still needs a start and end for every word, so missing times
are interpolated inside their segment and the word is marked `interpolated`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class TranscriptError(ValueError):
    """The transcript file is not a usable WhisperX-format JSON."""


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    interpolated: bool = False


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value == value else None


def _spread(texts: list[str], start: float, end: float) -> list[tuple[float, float]]:
    """Split [start, end] between words in proportion to their length (+1 for the space)."""
    weights = [len(t) + 1 for t in texts]
    total = sum(weights) or 1
    spans, cursor = [], start
    for weight in weights:
        step = (end - start) * weight / total
        spans.append((cursor, cursor + step))
        cursor += step
    return spans


def _segment_words(segment: dict[str, Any]) -> list[Word]:
    seg_start, seg_end = _number(segment.get("start")), _number(segment.get("end"))
    raw = segment.get("words")
    if not raw:
        texts = str(segment.get("text") or "").split()
        if not texts or seg_start is None or seg_end is None:
            return []
        spans = _spread(texts, seg_start, seg_end)
        return [Word(t, a, b, True) for t, (a, b) in zip(texts, spans, strict=True)]
    entries = [(str(w.get("word") or "").strip(), _number(w.get("start")), _number(w.get("end")))
               for w in raw if isinstance(w, dict)]
    entries = [e for e in entries if e[0]]
    words: list[Word] = []
    for index, (text, start, end) in enumerate(entries):
        if start is not None and end is not None and end >= start:
            words.append(Word(text, start, end))
            continue
        # Unaligned: between the previous word's end and the next timed word's start.
        lower = words[-1].end if words else (seg_start if seg_start is not None else None)
        upper = next((e[1] for e in entries[index + 1 :] if e[1] is not None), seg_end)
        if lower is None or upper is None or upper < lower:
            continue  # no time can be given to it: it cannot be placed in a clip
        untimed = 1 + next((k for k, e in enumerate(entries[index + 1 :]) if e[1] is not None),
                           len(entries) - index - 1)
        step = (upper - lower) / untimed
        words.append(Word(text, lower, lower + step, True))
    return words


def load_words(path: Path) -> list[Word]:
    """All words of the transcript in time order."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TranscriptError(f"transcript not found: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"transcript is not valid JSON: {path.name}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise TranscriptError(f"transcript has no 'segments' list: {path.name}")
    words = [w for segment in data["segments"] if isinstance(segment, dict) for w in _segment_words(segment)]
    # Overlapping ASR segments happen; a stable sort by start keeps the spoken order.
    return sorted(words, key=lambda w: (w.start, w.end))
