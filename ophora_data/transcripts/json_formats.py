"""Importers for JSON transcripts: WhisperX, whisper-timestamped, and plain Whisper segments.

The three share `segments[{start, end, text}]`; they differ in their words:
WhisperX `words[{word, start, end, score}]`, whisper-timestamped `words[{text, start, end, confidence}]`,
plain Whisper none at all (its words get interpolated times inside their segment).
"""

from __future__ import annotations

from typing import Any

from ophora_data.transcripts.errors import TranscriptFormatError
from ophora_data.transcripts.model import RawWord, Segment, Transcript, fill_missing_times, number, spread_words

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


def _segment(data: dict[str, Any], text_key: str, score_key: str) -> Segment | None:
    """One segment; None when it has neither text nor any time to place it."""
    text = str(data.get("text") or "").strip()
    raw = _raw_words(data.get("words") or [], text_key, score_key) if isinstance(data.get("words"), list) else []
    timed = [t for w in raw for t in (w[1], w[2]) if t is not None]
    start = number(data.get("start"))
    end = number(data.get("end"))
    start = start if start is not None else (min(timed) if timed else None)
    end = end if end is not None else (max(timed) if timed else None)
    if start is None or end is None:
        return None
    end = max(end, start)
    if raw:
        words = fill_missing_times(raw, start, end)
        return Segment(start, end, text or " ".join(w.word for w in words), words)
    return Segment(start, end, text, spread_words(text, start, end)) if text else None


def parse_json_transcript(data: Any, origin: str | None = None) -> Transcript:
    """A decoded WhisperX / whisper-timestamped / Whisper JSON document -> Transcript."""
    source = detect_json_format(data)
    text_key, score_key = ("word", "score") if source == WHISPERX else ("text", "confidence")
    segments = []
    for item in data["segments"]:
        segment = _segment(item, text_key, score_key) if isinstance(item, dict) else None
        if segment is not None:
            segments.append(segment)
    language = data.get("language")
    return Transcript(tuple(segments), normalise_language(language), source, origin,
                      {"dropped_segments": len(data["segments"]) - len(segments)})


def normalise_language(value: Any) -> str | None:
    """'en', 'en-US', 'EN_us' -> 'en'; anything else (missing, empty, not a string) -> None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-").split("-")[0].lower()
