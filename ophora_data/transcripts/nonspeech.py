"""What in a transcript is not spoken narration, removed before anything is segmented.

Subtitles and Whisper both write sound and music tags (`[Music]`, `[Applause]`, `(laughs)`,
`♪ lyrics ♪`), speaker-change markers (`>>`, a leading `- `) and, in files that went through HTML
more than once, entities (`&amp;gt;&amp;gt;`). None of it was said, so none of it may reach a
window, a prompt or an instruction. The conventions are those of closed captions (SDH): sound
descriptions in brackets or parentheses, `♪` around lyrics, `>>` or a dash for a new speaker.

Tokens are the importers' words: `RawWord` tuples `(text, start, end, score, interpolated)`.
"""

from __future__ import annotations

import html
import re

from ophora_data.transcripts.model import RawWord

MUSIC = frozenset("♪♫♬🎵🎶")
_DASHES = frozenset({"-", "--", "–", "—"})
# An entity html.unescape does not know (a typo, or a second escaping layer it left behind).
_LEFTOVER_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_SPEAKER_MARK = re.compile(r"^(?:>>+|[-–—](?=\s|[^\W\d_]))\s*")  # ">> text", "- text", "-Text"
_SOUND_WORDS = re.compile(r"[^\W\d_]+(?:[\s'’-]+[^\W\d_]+)*")  # "laughs", "upbeat music", "speaking Spanish"
_MAX_TAG_TOKENS = 8  # "[MUSIC PLAYING]", "[ inaudible 00:12 ]"; a longer bracket is quoted speech
_MAX_SOUND_WORDS = 4  # "(laughs)", "(speaking foreign language)"; longer parentheses are speech
_CLOSING_PUNCT = ".,;:!?"
# Sentence punctuation a tokenizer left as its own token ("dye ?"): it belongs to a neighbour.
_PUNCTUATION = re.compile(r"^[.,;:!?…\"'“”‘’()\[\]{}¿¡]+$")


def clean_text(text: str) -> str:
    """Entities decoded (repeatedly: files escaped twice exist), unknown ones removed, spaces collapsed."""
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return " ".join(_LEFTOVER_ENTITY.sub(" ", text).split())


def strip_speaker_mark(text: str) -> str:
    """'>> can you' -> 'can you'; '- Hello' -> 'Hello'; '-5 degrees' is left alone."""
    return _SPEAKER_MARK.sub("", text.strip())


def is_lyrics_line(line: str) -> bool:
    """A caption line that starts with a music note holds lyrics or a music cue, not narration."""
    stripped = line.strip()
    return bool(stripped) and stripped[0] in MUSIC


def _split_cleaned(word: RawWord) -> list[RawWord]:
    """A token cleaned; one that became several words ('a&nbsp;b') shares its span between them."""
    text, start, end, score, interpolated = word
    pieces = clean_text(text).split()
    if len(pieces) <= 1:
        return [(pieces[0], start, end, score, interpolated)] if pieces else []
    if start is None or end is None:
        return [(piece, None, None, None, True) for piece in pieces]
    step = (end - start) / len(pieces)
    return [(piece, start + k * step, start + (k + 1) * step, None, True) for k, piece in enumerate(pieces)]


def _tag_end(texts: list[str], first: int, opener: str, closer: str) -> int | None:
    """Index of the token closing a tag opened at `first`, within the tag length limit."""
    for index in range(first, min(len(texts), first + _MAX_TAG_TOKENS)):
        body = texts[index][1:] if index == first else texts[index]
        if body.rstrip(_CLOSING_PUNCT).endswith(closer) and (index > first or len(texts[first]) > 1):
            return index
        if opener in body:
            return None
    return None


def _sound_description(texts: list[str]) -> bool:
    inner = " ".join(texts).strip().lstrip("(").rstrip(_CLOSING_PUNCT).rstrip(")").strip()
    return bool(_SOUND_WORDS.fullmatch(inner)) and len(inner.split()) <= _MAX_SOUND_WORDS


def _non_speech_span(texts: list[str], index: int) -> int | None:
    """The last index of a non-speech span starting at `index`, or None when the token is speech."""
    text = texts[index]
    if any(ch in MUSIC for ch in text):
        closing = next((k for k in range(index + 1, len(texts)) if any(ch in MUSIC for ch in texts[k])), None)
        inner_close = sum(ch in MUSIC for ch in text) >= 2
        return index if inner_close else (closing if closing is not None else len(texts) - 1)
    if text in _DASHES:
        return index
    if text.startswith("["):
        return _tag_end(texts, index, "[", "]")
    if text.startswith("("):
        end = _tag_end(texts, index, "(", ")")
        return end if end is not None and _sound_description(texts[index : end + 1]) else None
    return None


def strip_non_speech(words: list[RawWord]) -> tuple[list[RawWord], list[str]]:
    """(the speech words, cleaned and in order; the texts removed as non-speech, in order).

    A `♪` without a closing one removes the rest of the segment (a lyrics line); brackets that do
    not close within a few tokens, and parentheses around more than sound words, are speech.
    """
    removed: list[tuple[int, str]] = []  # (position among the cleaned tokens, text)
    cleaned: list[RawWord] = []
    for word in words:
        pieces = _split_cleaned(word)
        if pieces:
            first = pieces[0][0]
            bare = strip_speaker_mark(first)
            if bare != first:
                removed.append((len(cleaned), first[: len(first) - len(bare)].strip()))
                pieces = [(bare, *pieces[0][1:]), *pieces[1:]] if bare else pieces[1:]
        elif word[0].strip():
            removed.append((len(cleaned), word[0].strip()))  # nothing but an entity
        cleaned.extend(pieces)
    texts = [word[0] for word in cleaned]
    kept: list[RawWord] = []
    index = 0
    while index < len(cleaned):
        last = _non_speech_span(texts, index)
        if last is None:
            kept.append(cleaned[index])
            index += 1
        else:
            removed.append((index, " ".join(texts[index : last + 1])))
            index = last + 1
    return kept, [text for _, text in sorted(removed, key=lambda item: item[0]) if text]


def attach_punctuation(words: list[RawWord]) -> tuple[list[RawWord], str]:
    """Punctuation-only tokens joined to the word before (or after, at the start); never a word.

    WhisperX leaves e.g. a lone, untimed `?`; as a word of its own it could become a window edge.
    Returns the words and any punctuation left over when there was no word to attach it to.
    """
    out: list[RawWord] = []
    pending = ""
    for word in words:
        if not word[0]:
            continue
        if _PUNCTUATION.match(word[0]):
            if out:
                out[-1] = (out[-1][0] + word[0], *out[-1][1:])
            else:
                pending += word[0]
            continue
        out.append((pending + word[0], *word[1:]) if pending else word)
        pending = ""
    return out, pending
