"""Word-time repairs that keep spoken order: the source's word order is trusted, its times are not.

ASR and subtitle timestamps can run backwards (whisperX #419), segments overlap (lhotse #891) or
cues nest. Sorting words by such times scrambles the narration ("wash then out"), so every repair
here keeps the words where the source put them and changes only times.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace

from ophora_data.transcripts.model import RawWord, Word, spread_words

_EPS = 1e-6


def longest_non_decreasing(values: list[float]) -> list[int]:
    """Indices of a longest non-decreasing subsequence of `values` (patience sorting, O(n log n)).

    Of several equally long ones it returns the one with the smallest values late in the
    sequence, i.e. it keeps the later of two swapped neighbours (`then 5.90, wash 5.60` keeps
    `wash` and re-times `then` between its neighbours).
    """
    tails: list[float] = []
    tail_index: list[int] = []
    parent = [-1] * len(values)
    for index, value in enumerate(values):
        rank = bisect_right(tails, value)
        parent[index] = tail_index[rank - 1] if rank else -1
        if rank == len(tails):
            tails.append(value)
            tail_index.append(index)
        else:
            tails[rank] = value
            tail_index[rank] = index
    chain, index = [], tail_index[-1] if tail_index else -1
    while index >= 0:
        chain.append(index)
        index = parent[index]
    return chain[::-1]


def is_timed(word: RawWord) -> bool:
    return word[1] is not None and word[2] is not None and word[2] >= word[1]


def keep_monotonic(words: list[RawWord]) -> tuple[list[RawWord], int, int]:
    """(words in source order with out-of-order times cleared, words cleared, timed words).

    The timed words whose starts form a longest non-decreasing run keep their times; the others
    lose them (score too: it scored a misplaced alignment) and are re-timed by `fill_missing_times`
    between their neighbours.
    """
    timed = [index for index, word in enumerate(words) if is_timed(word)]
    keep = {timed[k] for k in longest_non_decreasing([words[i][1] for i in timed])}  # type: ignore[misc]
    cleared = [index for index in timed if index not in keep]
    out = [(w[0], None, None, None, True) if index in cleared else w for index, w in enumerate(words)]
    return out, len(cleared), len(timed)


def respread(words: tuple[Word, ...] | list[Word], start: float, end: float) -> tuple[Word, ...]:
    """The same words, re-timed over [start, end] by length and marked interpolated (scores dropped)."""
    return spread_words(" ".join(w.word for w in words), start, end)


def fit_words(words: tuple[Word, ...], start: float, end: float) -> tuple[Word, ...]:
    """Words limited to [start, end] (seconds).

    Measured words are clamped and the ones that moved are marked interpolated; words that were
    all interpolated (subtitle cues) are spread again over the new span, keeping their proportions.
    """
    if words and all(w.interpolated for w in words):
        return respread(words, start, end)
    fitted = []
    for word in words:
        begin = min(max(word.start, start), end)
        stop = min(max(word.end, begin), end)
        moved = abs(begin - word.start) > _EPS or abs(stop - word.end) > _EPS
        fitted.append(replace(word, start=begin, end=stop, interpolated=word.interpolated or moved))
    return tuple(fitted)
