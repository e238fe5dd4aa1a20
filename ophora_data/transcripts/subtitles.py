"""Importers for WebVTT and SRT subtitles: cue-level timing, words interpolated inside each cue.

YouTube's auto-generated VTT is a "rolling" format: each cue repeats the previous line and adds
a new one whose words carry inline `<00:00:01.234>` start times. Repeated lines are dropped and
inline times are kept (a word with its own start is not marked interpolated); everything else
gets times spread over its cue by word length, marked `interpolated`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ophora_data.transcripts.errors import TranscriptFormatError
from ophora_data.transcripts.json_formats import normalise_language
from ophora_data.transcripts.model import Segment, Transcript, Word, spread_words

VTT = "import:vtt"
SRT = "import:srt"
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_INLINE_TIME = re.compile(r"<(\d+:\d{2}:\d{2}\.\d{3}|\d{2}:\d{2}\.\d{3})>")
_TAG = re.compile(r"</?[^>]*>|\{\\[^}]*\}")  # <c>, <i>, <v Name>, SRT's {\an8}


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000


def _timestamp(text: str) -> float:
    parts = text.split(":")
    whole, _, millis = parts[-1].partition(".")
    hours = parts[0] if len(parts) == 3 else None
    return _seconds(hours, parts[-2], whole, millis)


def parse_cues(text: str, strict_blank_lines: bool = False) -> list[Cue]:
    """Timed cue blocks of a VTT or SRT body (header, NOTE and STYLE blocks have no timing line).

    WebVTT ends a cue only at an empty line (YouTube puts a lone space inside cues); SRT files
    in the wild also separate cues with whitespace-only lines.
    """
    separator = r"\n\n+" if strict_blank_lines else r"\n[ \t]*\n"
    cues = []
    for block in re.split(separator, text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.split("\n")
        index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if index is None:
            continue
        match = _TIMING.match(lines[index])
        if match is None:
            raise TranscriptFormatError(f"unreadable cue timing line: {lines[index].strip()[:60]!r}")
        start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
        cues.append(Cue(start, max(end, start), tuple(line for line in lines[index + 1 :])))
    return cues


def _clean(line: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", line)).split())


def _chunks(line: str, cue: Cue) -> list[tuple[float | None, str]]:
    """(start, text) pieces of a line: a piece after an inline timestamp starts at it.

    In a line with inline times the first piece starts at the cue's start (how YouTube writes them).
    """
    pieces: list[tuple[float | None, str]] = []
    cursor = 0
    start: float | None = cue.start if _INLINE_TIME.search(line) else None
    for match in _INLINE_TIME.finditer(line):
        pieces.append((start, line[cursor : match.start()]))
        start = min(max(_timestamp(match.group(1)), cue.start), cue.end)
        cursor = match.end()
    pieces.append((start, line[cursor:]))
    return [(s, _clean(t)) for s, t in pieces if _clean(t)]


def _cue_words(chunks: list[tuple[float | None, str]], cue: Cue) -> tuple[Word, ...]:
    if not any(start is not None for start, _ in chunks):
        return spread_words(" ".join(t for _, t in chunks), cue.start, cue.end)
    words: list[Word] = []
    for index, (start, text) in enumerate(chunks):
        begin = cue.start if start is None else max(start, words[-1].end if words else cue.start)
        later = [s for s, _ in chunks[index + 1 :] if s is not None]
        stop = max(later[0] if later else cue.end, begin)
        piece = spread_words(text, begin, stop)
        if len(piece) == 1 and start is not None:  # its start was given by the subtitle itself
            piece = (Word(piece[0].word, piece[0].start, piece[0].end, None, False),)
        words.extend(piece)
    return tuple(words)


def cues_to_segments(cues: list[Cue]) -> list[Segment]:
    """One segment per cue with its new text; lines repeated from the previous cue are dropped."""
    segments = []
    previous: set[str] = set()
    for cue in cues:
        fresh = [line for line in cue.lines if _clean(line) and not (
            _INLINE_TIME.search(line) is None and _clean(line) in previous)]
        previous = {_clean(line) for line in cue.lines if _clean(line)}
        chunks = [chunk for line in fresh for chunk in _chunks(line, cue)]
        if not chunks or cue.end - cue.start < 0.02 and not any(s is not None for s, _ in chunks):
            continue  # nothing new, or a zero-length transition cue
        words = _cue_words(chunks, cue)
        segments.append(Segment(cue.start, cue.end, " ".join(w.word for w in words), words))
    return segments


def _vtt_language(header: str) -> str | None:
    match = re.search(r"^Language:\s*(\S+)", header, re.MULTILINE)
    return normalise_language(match.group(1)) if match else None


def parse_vtt(text: str, origin: str | None = None, language: str | None = None) -> Transcript:
    text = text.lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        raise TranscriptFormatError("not a WebVTT file (it must start with 'WEBVTT')")
    header = re.split(r"\n\s*\n", text.replace("\r\n", "\n"), maxsplit=1)[0]
    segments = cues_to_segments(parse_cues(text, strict_blank_lines=True))
    return Transcript(tuple(segments), _vtt_language(header) or language, VTT, origin)


def parse_srt(text: str, origin: str | None = None, language: str | None = None) -> Transcript:
    cues = parse_cues(text.lstrip("\ufeff"))
    if not cues and text.strip():
        raise TranscriptFormatError("not an SRT file (no 'HH:MM:SS,mmm --> HH:MM:SS,mmm' timing lines)")
    # SRT cues are independent captions: no rolling repeats to drop, so each cue is kept whole.
    segments = []
    for cue in cues:
        body = _clean(" ".join(cue.lines))
        if body:
            words = spread_words(body, cue.start, cue.end)
            segments.append(Segment(cue.start, cue.end, body, words))
    return Transcript(tuple(segments), language, SRT, origin)
