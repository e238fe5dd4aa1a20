"""Importers for JSON transcripts: WhisperX, whisper-timestamped, and plain Whisper segments.

The three share `segments[{start, end, text}]`; they differ in their words:
WhisperX `words[{word, start, end, score}]`, whisper-timestamped `words[{text, start, end, confidence}]`,
plain Whisper none at all (its words get interpolated times inside their segment).
"""

from __future__ import annotations

from typing import Any

from ophora_data.transcripts.errors import TranscriptFormatError
from ophora_data.transcripts.issues import DROPPED, NO_TIMING, SegmentIssue
from ophora_data.transcripts.model import RawWord, Segment, Transcript, number
from ophora_data.transcripts.normalise import build_segment, order_segments

WHISPERX = "import:whisperx"
WHISPER_TIMESTAMPED = "import:whisper-timestamped"


def detect_json_format(data: Any) -> str:
    """The importer source name for a decoded JSON document; TranscriptFormatError if neither."""
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise TranscriptFormatError("JSON transcript has no 'segments' list (expected WhisperX format)")
    for segment in data["segments"]:
        for word in (segment.get("words") or []) if isinstance(segment, dict) else []:
            if isinstance(word, dict) and "word" in word:
                return WHISPERX
            if isinstance(word, dict) and "text" in word:
                return WHISPER_TIMESTAMPED
    return WHISPERX  # segment-level only: WhisperX's unaligned output has the same shape


def _raw_words(words: list[Any], text_key: str, score_key: str) -> list[RawWord]:
    raw = []
    for word in words:
        if not isinstance(word, dict):
            continue
        text = str(word.get(text_key) or "").strip()
        if text:
            raw.append((text, number(word.get("start")), number(word.get("end")), number(word.get(score_key)),
                        word.get("interpolated") is True))
    return raw


def _segment(index: int, data: Any, text_key: str, score_key: str, word_level: bool
             ) -> tuple[Segment | None, list[SegmentIssue]]:
    """One source segment through the shared per-segment repairs; a non-object is dropped with a reason."""
    if not isinstance(data, dict):
        return None, [SegmentIssue(index, None, None, DROPPED, NO_TIMING, "not a segment object")]
    text = str(data.get("text") or "").strip()
    raw = _raw_words(data.get("words") or [], text_key, score_key) if isinstance(data.get("words"), list) else []
    listed = data.get("repairs") if isinstance(data.get("repairs"), list) else []  # our own output, re-read
    repairs = tuple(r for r in listed if isinstance(r, str))
    return build_segment(index, number(data.get("start")), number(data.get("end")), text, raw,
                         word_level=word_level, atomic=data.get("atomic") is True, repairs=repairs)


def parse_json_transcript(data: Any, origin: str | None = None) -> Transcript:
    """A decoded WhisperX / whisper-timestamped / Whisper JSON document -> Transcript (spoken order).

    Segments keep the file's order and words their segment's order; local faults are repaired or the
    segment dropped, each recorded in `Transcript.issues` (see `normalise.py`). Raises
    TranscriptFormatError when the document has no `segments` list.
    """
    source = detect_json_format(data)
    text_key, score_key = ("word", "score") if source == WHISPERX else ("text", "confidence")
    word_level = any(isinstance(s, dict) and isinstance(s.get("words"), list) and s["words"]
                     for s in data["segments"])
    segments, issues = [], []
    for index, item in enumerate(data["segments"]):
        segment, found = _segment(index, item, text_key, score_key, word_level)
        issues += found
        if segment is not None:
            segments.append(segment)
    segments, found = order_segments(segments, from_decoder=True)
    language = data.get("language")
    return Transcript(tuple(segments), normalise_language(language), source, origin,
                      issues=tuple(sorted([*issues, *found], key=lambda i: i.segment)))


def normalise_language(value: Any) -> str | None:
    """'en', 'en-US', 'EN_us' -> 'en'; anything else (missing, empty, not a string) -> None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-").split("-")[0].lower()
