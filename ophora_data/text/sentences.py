"""Sentence boundaries over timed words with spaCy (blank English + sentencizer by default).

spaCy tokenises "it." into two tokens, so a boundary can never fall inside one of our
words: a word belongs to the sentence that holds its first character.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from typing import Any

from ophora_data.text.words import Word


class SentencizerError(RuntimeError):
    """The configured spaCy pipeline cannot be loaded."""


@lru_cache(maxsize=4)
def load_sentencizer(model: str | None = None) -> Any:
    import spacy

    if model is None:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp
    try:
        nlp = spacy.load(model, exclude=["ner"])
    except OSError as exc:
        raise SentencizerError(
            f"spaCy model {model!r} is not installed (segment.spacy_model); install it or set it to null"
        ) from exc
    if not (nlp.has_pipe("parser") or nlp.has_pipe("senter") or nlp.has_pipe("sentencizer")):
        nlp.add_pipe("sentencizer")
    return nlp


def sentence_word_ranges(words: list[Word], model: str | None = None) -> list[tuple[int, int]]:
    """[start, end) word-index ranges, one per sentence, covering all words in order."""
    if not words:
        return []
    offsets, cursor = [], 0
    for word in words:
        offsets.append(cursor)
        cursor += len(word.text) + 1
    doc = load_sentencizer(model)(" ".join(w.text for w in words))
    starts = [sent.start_char for sent in doc.sents]
    ranges: list[tuple[int, int]] = []
    sentence_of = [_sentence_index(starts, offset) for offset in offsets]
    begin = 0
    for index in range(1, len(words)):
        if sentence_of[index] != sentence_of[index - 1]:
            ranges.append((begin, index))
            begin = index
    ranges.append((begin, len(words)))
    return _rejoin_abbreviations(words, ranges)


# A period after these is not a sentence end (the blank sentencizer splits "Dr. | Smith").
ABBREVIATIONS = frozenset({"dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "e.g.", "i.e.", "vs.", "approx.",
                           "no.", "fig.", "etc.", "cf."})


def _rejoin_abbreviations(words: list[Word], ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    joined: list[tuple[int, int]] = []
    for first, stop in ranges:
        if joined and words[joined[-1][1] - 1].text.lower() in ABBREVIATIONS:
            joined[-1] = (joined[-1][0], stop)
        else:
            joined.append((first, stop))
    return joined


def _sentence_index(starts: list[int], offset: int) -> int:
    return max(0, bisect_right(starts, offset) - 1)
