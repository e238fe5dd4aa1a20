"""Repairs that need the media or a setting: past the media end, hallucination loops, implausible speed.

`transcribe` runs these after import or ASR; each fault is handled on the smallest unit that is
bad (a segment, or the repeated words of a loop) and recorded as a `SegmentIssue`. The settings
are plain config fields (part of transcribe's hash), not Bounds: what they remove is not a stored
value that `refilter` could re-judge.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ophora_data.transcripts.guards import token
from ophora_data.transcripts.issues import DROPPED, LOOP, PAST_END, REPAIRED, TOO_FAST, SegmentIssue
from ophora_data.transcripts.model import Segment, Transcript


@dataclass(frozen=True)
class RepairRules:
    """`max_words_per_s`: faster segments are dropped; `loop_min_repeats`: a phrase (up to
    `loop_max_ngram` words) repeated back to back this many times is a loop, its repeats removed."""

    max_words_per_s: float = 12.0
    loop_min_repeats: int = 5
    loop_max_ngram: int = 8


def repair_transcript(transcript: Transcript, duration_s: float | None, rules: RepairRules) -> Transcript:
    """The transcript limited to the media, loops and implausibly fast segments removed; issues added."""
    segments, issues = clamp_to_duration(list(transcript.segments), duration_s)
    segments, found = remove_loops(segments, rules.loop_min_repeats, rules.loop_max_ngram)
    issues += found
    segments, found = drop_too_fast(segments, rules.max_words_per_s)
    issues += found
    every = sorted([*transcript.issues, *issues], key=lambda i: i.segment)
    return replace(transcript, segments=tuple(segments), issues=tuple(every))


def clamp_to_duration(segments: list[Segment], duration_s: float | None) -> tuple[list[Segment], list[SegmentIssue]]:
    """Segments starting at or after the end dropped; words starting after it removed, the rest clamped."""
    if duration_s is None:
        return segments, []
    kept, issues = [], []
    for segment in segments:
        words = [w.word for w in segment.words]
        if segment.start >= duration_s or all(w.start >= duration_s for w in segment.words):
            issues.append(segment.issue(DROPPED, PAST_END, f"speech starts after the media end "
                                        f"({duration_s:.2f} s)", words))
            continue
        if segment.end <= duration_s and all(w.end <= duration_s for w in segment.words):
            kept.append(segment)
            continue
        inside = tuple(replace(w, end=min(w.end, duration_s)) for w in segment.words if w.start < duration_s)
        removed = [w.word for w in segment.words if w.start >= duration_s]
        detail = f"clamped to {duration_s:.2f} s" + (f"; {len(removed)} words after it removed" if removed else "")
        issues.append(segment.issue(REPAIRED, PAST_END, detail, removed))
        kept.append(segment.repaired(PAST_END, end=min(segment.end, duration_s), words=inside,
                                     text=" ".join(w.word for w in inside) if removed else segment.text))
    return kept, issues


def loop_repeats_to_remove(tokens: list[str], min_repeats: int, max_ngram: int) -> dict[int, tuple[str, int]]:
    """{token position: (phrase, repeats)} for every repeat after a loop phrase's first occurrence.

    For each period n a maximal run where token[i] == token[i + n] of length L covers L + n tokens,
    i.e. (L + n) // n repeats. Runs are taken longest first (the shorter period on ties: 'thank you'
    x15 rather than 'thank you thank you' x7) and never overlap. O(len(tokens) * max_ngram).
    """
    runs = []
    for n in range(1, max_ngram + 1):
        length = 0
        for i in range(len(tokens) - n + 1):
            same = i < len(tokens) - n and tokens[i] and tokens[i] == tokens[i + n]
            if same:
                length += 1
                continue
            if length and (length + n) // n >= min_repeats:
                first = i - length
                runs.append((length + n, n, first))
            length = 0
    taken: dict[int, tuple[str, int]] = {}
    for covered, n, first in sorted(runs, key=lambda r: (-r[0], r[1], r[2])):
        span = range(first, first + covered)
        if any(k in taken for k in span):
            continue
        phrase = " ".join(tokens[first : first + n])
        taken.update({k: (phrase, covered // n) for k in span[n:]})
    return taken


def remove_loops(segments: list[Segment], min_repeats: int, max_ngram: int
                 ) -> tuple[list[Segment], list[SegmentIssue]]:
    """Whisper's hallucination loops: every repeat after the first occurrence removed, across segments."""
    places = [(s, w) for s, segment in enumerate(segments) for w in range(len(segment.words))]
    tokens = [token(segments[s].words[w].word) for s, w in places]
    spoken = [k for k, t in enumerate(tokens) if t]  # punctuation-free tokens only
    found = loop_repeats_to_remove([tokens[k] for k in spoken], min_repeats, max_ngram)
    if not found:
        return segments, []
    doomed: dict[int, dict[int, tuple[str, int]]] = {}
    for position, loop in found.items():
        s, w = places[spoken[position]]
        doomed.setdefault(s, {})[w] = loop
    kept, issues = [], []
    for s, segment in enumerate(segments):
        if s not in doomed:
            kept.append(segment)
            continue
        removed = [segment.words[w].word for w in sorted(doomed[s])]
        loops = sorted({loop for loop in doomed[s].values()}, key=lambda loop: -loop[1])
        detail = ", ".join(f"{phrase!r} x{repeats}" for phrase, repeats in loops)
        rest = tuple(word for w, word in enumerate(segment.words) if w not in doomed[s])
        if not rest:
            issues.append(segment.issue(DROPPED, LOOP, detail, removed))
            continue
        issues.append(segment.issue(REPAIRED, LOOP, f"{detail}: repeats removed", removed))
        kept.append(segment.repaired(LOOP, words=rest, text=" ".join(w.word for w in rest)))
    return kept, issues


def drop_too_fast(segments: list[Segment], max_words_per_s: float) -> tuple[list[Segment], list[SegmentIssue]]:
    """Segments with more words per second than anyone speaks: mistimed or hallucinated."""
    kept, issues = [], []
    for segment in segments:
        span = max([segment.end, *(w.end for w in segment.words)]) - min([segment.start,
                                                                          *(w.start for w in segment.words)])
        rate = len(segment.words) / span if span > 0 else float("inf")
        if segment.words and rate > max_words_per_s:
            detail = f"{len(segment.words)} words in {span:.2f} s ({rate:.1f}/s > {max_words_per_s:g}/s)"
            issues.append(segment.issue(DROPPED, TOO_FAST, detail, [w.word for w in segment.words]))
        else:
            kept.append(segment)
    return kept, issues
