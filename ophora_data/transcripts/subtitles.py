"""Importers for WebVTT and SRT subtitles: cue-level timing, words interpolated inside each cue.

YouTube's auto-generated VTT is a "rolling" format: each cue repeats the previous line and adds
a new one whose words carry inline `<00:00:01.234>` start times. Repeated lines are display, not
speech: they are dropped (in SRT too, where converted rolling captions carry the same repeats) and
inline times are kept (a word with its own start is not marked interpolated); everything else
gets times spread over its cue by word length, marked `interpolated`. Cues are taken by start;
sound tags, lyrics and speaker marks are removed, and overlapping or bad cues are repaired or
dropped with a recorded issue (`normalise.py`).

The cue-block reader is our own (~20 lines): webvtt-py 0.6 and pysubs2 1.8 both parse these files,
but the work here (rolling repeats, inline times, non-speech, repairs) is ours either way, and
their stricter readers refuse files with whitespace-only separators that this one accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ophora_data.transcripts.errors import TranscriptFormatError
from ophora_data.transcripts.issues import SegmentIssue
from ophora_data.transcripts.json_formats import normalise_language
from ophora_data.transcripts.model import Segment, Transcript, Word, spread_words
from ophora_data.transcripts.nonspeech import MUSIC, clean_text, is_lyrics_line
from ophora_data.transcripts.normalise import build_segment, order_segments

VTT = "import:vtt"
SRT = "import:srt"
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_INLINE_TIME = re.compile(r"<(\d+:\d{2}:\d{2}\.\d{3}|\d{2}:\d{2}\.\d{3})>")
_TAG = re.compile(r"</?[^>]*>|\{\\[^}]*\}")  # <c>, <i>, <v Name>, SRT's {\an8}


@dataclass(frozen=True)
class Cue:
    """One timed cue as written (seconds; `end` may be before `start` in a broken file)."""

    start: float
    end: float
    lines: tuple[str, ...]
    index: int = 0  # position in the file


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
        cues.append(Cue(start, end, tuple(line for line in lines[index + 1 :]), len(cues)))
    return cues


def _clean(line: str) -> str:
    """Markup removed, entities decoded (also doubly escaped ones), spaces collapsed."""
    return " ".join(_TAG.sub(" ", clean_text(_TAG.sub("", line))).split())


def _close_lyrics(line: str) -> str:
    """'♪ la la' -> '♪ la la ♪': a lyrics line is non-speech up to its end, never into the next line."""
    return f"{line} ♪" if is_lyrics_line(line) and sum(ch in MUSIC for ch in line) == 1 else line


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
    if cue.end < cue.start:
        return ()  # no span to place words in: build_segment drops the cue with its reason
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


def cues_to_segments(cues: list[Cue]) -> tuple[list[Segment], list[SegmentIssue]]:
    """Segments in cue-start order with the issues found (see the module docstring).

    A line without inline times that repeats a line of the previous cue is a rolling repeat and
    gives no words; a cue with nothing new (YouTube's 10 ms transition cues) gives no segment.
    """
    segments, issues = [], []
    previous: set[str] = set()
    for cue in sorted(cues, key=lambda c: c.start):  # stable: WebVTT requires this order, SRT in the wild breaks it
        lines = [_close_lyrics(line) for line in cue.lines]
        fresh = [line for line in lines if _clean(line) and not (
            _INLINE_TIME.search(line) is None and _clean(line) in previous)]
        previous = {_clean(line) for line in lines if _clean(line)}
        chunks = [chunk for line in fresh for chunk in _chunks(line, cue)]
        if not chunks:
            continue  # nothing new
        words = _cue_words(chunks, cue)
        raw = [(w.word, w.start, w.end, w.score, w.interpolated) for w in words]
        segment, found = build_segment(cue.index, cue.start, cue.end, " ".join(t for _, t in chunks), raw,
                                       word_level=False)
        issues += found
        if segment is not None:
            segments.append(segment)
    segments, found = order_segments(segments, from_decoder=False)
    return segments, sorted([*issues, *found], key=lambda i: i.segment)


def _vtt_language(header: str) -> str | None:
    match = re.search(r"^Language:\s*(\S+)", header, re.MULTILINE)
    return normalise_language(match.group(1)) if match else None


def parse_vtt(text: str, origin: str | None = None, language: str | None = None) -> Transcript:
    text = text.lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        raise TranscriptFormatError("not a WebVTT file (it must start with 'WEBVTT')")
    header = re.split(r"\n\s*\n", text.replace("\r\n", "\n"), maxsplit=1)[0]
    segments, issues = cues_to_segments(parse_cues(text, strict_blank_lines=True))
    return Transcript(tuple(segments), _vtt_language(header) or language, VTT, origin, issues=tuple(issues))


def parse_srt(text: str, origin: str | None = None, language: str | None = None) -> Transcript:
    cues = parse_cues(text.lstrip("\ufeff"))
    if not cues and text.strip():
        raise TranscriptFormatError("not an SRT file (no 'HH:MM:SS,mmm --> HH:MM:SS,mmm' timing lines)")
    segments, issues = cues_to_segments(cues)
    return Transcript(tuple(segments), language, SRT, origin, issues=tuple(issues))
