"""Timed words of a WhisperX-format transcript, in spoken order, for segmentation.

The transcript is read through the same importer as `transcribe` (`parse_json_transcript`), so a
file that did not pass through `transcribe` gets the same repairs: no global sort by possibly
wrong times (words keep their segment's order, segments the file's), untimed words placed
between their neighbours, non-speech removed. Words keep their `interpolated` flag (counted in
`segment`'s `interpolated_words`) and know their segment, so a window can respect the edges of a
segment whose times a repair invented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ophora_data.transcripts.errors import TranscriptFormatError
from ophora_data.transcripts.json_formats import parse_json_transcript


class TranscriptError(ValueError):
    """The transcript file is not a usable WhisperX-format JSON."""


@dataclass(frozen=True)
class Word:
    """A spoken word; `start`/`end` in seconds.

    `interpolated`: its times were spread or re-timed, not measured. `segment`: index of its
    segment in the transcript. `atomic`: its segment's word times were all invented by a repair,
    so a window never joins it to a neighbouring segment's words.
    """

    text: str
    start: float
    end: float
    interpolated: bool = False
    segment: int = 0
    atomic: bool = False


def load_words(path: Path) -> list[Word]:
    """All words of the transcript in spoken order; TranscriptError when it is missing or unusable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TranscriptError(f"transcript not found: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"transcript is not valid JSON: {path.name}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise TranscriptError(f"transcript has no 'segments' list: {path.name}")
    try:
        transcript = parse_json_transcript(data, str(path))
    except TranscriptFormatError as exc:
        raise TranscriptError(f"{path.name}: {exc}") from exc
    return [Word(w.word, w.start, w.end, w.interpolated, index, segment.atomic)
            for index, segment in enumerate(transcript.segments) for w in segment.words]
