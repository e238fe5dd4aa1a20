"""Per-segment and sequence repairs every importer (and the ASR path) applies, with no settings.

`build_segment` turns one source segment or cue into a `Segment`: non-speech removed, punctuation
attached, an invalid span repaired from its words or the segment dropped, word times that run
backwards re-timed in the source's own word order. `order_segments` puts segments in spoken order
(subtitle cues by start; JSON segments in file order, dropping the few whose start runs backwards),
removes text an overlapping segment repeats, and resolves overlaps without moving a word across
a segment boundary. Each step records a `SegmentIssue`; nothing is dropped silently.
"""

from __future__ import annotations

from ophora_data.transcripts.guards import token
from ophora_data.transcripts.issues import (
    DROPPED,
    DUPLICATE,
    NO_ALIGNMENT,
    NO_TIMING,
    NON_SPEECH,
    OUT_OF_ORDER,
    OVERLAP,
    REPAIRED,
    REVERSED,
    WORD_ORDER,
    ZERO_LENGTH,
    SegmentIssue,
)
from ophora_data.transcripts.model import RawWord, Segment, fill_missing_times, spread_words
from ophora_data.transcripts.nonspeech import attach_punctuation, strip_non_speech
from ophora_data.transcripts.timing import fit_words, is_timed, keep_monotonic, longest_non_decreasing, respread

MIN_SEGMENT_S = 0.02  # no word is spoken in 20 ms: a shorter span is not a time (WhisperX #31: 0.4 ms)
OVERLAP_TOLERANCE_S = 0.01  # rounding in the source's timestamps
MIN_REPEAT_WORDS = 2  # a one-word repeat across segments is only removed when it is the whole segment


def build_segment(index: int, start: float | None, end: float | None, text: str, raw: list[RawWord], *,
                  word_level: bool, atomic: bool = False, repairs: tuple[str, ...] = ()
                  ) -> tuple[Segment | None, list[SegmentIssue]]:
    """One source segment -> (the Segment or None when dropped, its issues).

    `raw` are its words (none: the text's words get times spread over the span); `word_level`
    says the file is word-aligned elsewhere, so a segment without aligned words is a repair.
    """
    wordless = not raw
    raw = [(piece, None, None, None, True) for piece in text.split()] if wordless else raw
    speech, removed = strip_non_speech(raw)
    speech, leftover = attach_punctuation(speech)
    issues: list[SegmentIssue] = []
    found = (start, end)  # an issue reports the span as the source gave it

    def issue(action: str, kind: str, detail: str = "", texts: list[str] | tuple[str, ...] = ()) -> SegmentIssue:
        joined = " ".join(texts)
        return SegmentIssue(index, found[0], found[1], action, kind, detail, joined, len(joined.split()))

    if removed or (leftover and not speech):
        texts = [*removed, leftover] if leftover and not speech else removed
        issues.append(issue(REPAIRED if speech else DROPPED, NON_SPEECH, "", texts))
    if not speech:
        return None, issues
    words_text = [word[0] for word in speech]
    timed = [word for word in speech if is_timed(word)]
    word_span = (min(w[1] for w in timed), max(w[2] for w in timed)) if timed else None  # type: ignore[type-var]
    if start is None or end is None:
        if word_span is None:
            return None, [*issues, issue(DROPPED, NO_TIMING, "no segment or word times", words_text)]
        start, end = (word_span[0] if start is None else start), (word_span[1] if end is None else end)
    for kind in (REVERSED, ZERO_LENGTH):
        if (end >= start) if kind == REVERSED else (end - start >= MIN_SEGMENT_S):
            continue
        detail = (f"ends at {end:.2f} s, before its start {start:.2f} s" if kind == REVERSED
                  else f"{(end - start) * 1000:.1f} ms long")
        if word_span is None or word_span[1] - word_span[0] < MIN_SEGMENT_S:
            return None, [*issues, issue(DROPPED, kind, detail, words_text)]
        issues.append(issue(REPAIRED, kind, f"{detail}; span taken from its words"))
        repairs = (*repairs, kind)
        start, end = word_span
    if wordless or not timed:
        words = spread_words(" ".join(words_text), start, end)
        if word_level and not atomic:
            issues.append(issue(REPAIRED, NO_ALIGNMENT, "word times spread over the segment"))
            repairs, atomic = (*repairs, NO_ALIGNMENT), True
    else:
        ordered, cleared, n_timed = keep_monotonic(speech)
        if cleared * 2 > n_timed:
            words = spread_words(" ".join(words_text), start, end)
            detail = f"{cleared} of {n_timed} words out of order: all word times re-spread over the segment"
            issues.append(issue(REPAIRED, WORD_ORDER, detail))
            repairs, atomic = (*repairs, WORD_ORDER), True
        else:
            words = fill_missing_times(ordered, start, end)
            if cleared:
                issues.append(issue(REPAIRED, WORD_ORDER, f"{cleared} of {n_timed} words re-timed between "
                                    "their neighbours"))
                repairs = (*repairs, WORD_ORDER)
    changed = bool(removed or leftover) or len(speech) != len(raw)
    text = " ".join(w.word for w in words) if changed or not text.strip() else text.strip()
    return Segment(start, end, text, words, index, tuple(dict.fromkeys(repairs)), atomic), issues


def order_segments(segments: list[Segment], *, from_decoder: bool) -> tuple[list[Segment], list[SegmentIssue]]:
    """Segments in spoken order, repeats removed, overlaps resolved; with the issues found.

    `from_decoder` (JSON, ASR): a sequential decoder wrote them, so the file order is the spoken one:
    a segment whose start runs backwards against the longest non-decreasing run of starts is
    dropped, never moved. Otherwise (subtitle cues) the caller has sorted them by cue start.
    """
    issues: list[SegmentIssue] = []
    if not from_decoder:
        ordered = list(segments)
    else:
        chain = set(longest_non_decreasing([s.start for s in segments]))
        ordered = [s for k, s in enumerate(segments) if k in chain]
        issues += [s.issue(DROPPED, OUT_OF_ORDER, f"starts at {s.start:.2f} s, before earlier segments",
                           [w.word for w in s.words]) for k, s in enumerate(segments) if k not in chain]
    out: list[Segment] = []
    for segment in ordered:
        current: Segment | None = segment
        if out:
            current, found = drop_repeated_prefix(out[-1], segment)
            issues += found
        if current is not None and out and current.start < out[-1].end - OVERLAP_TOLERANCE_S:
            out[-1], current, found = resolve_overlap(out[-1], current)
            issues += found
        if current is not None:
            out.append(current)
    return out, sorted(issues, key=lambda i: i.segment)


def drop_repeated_prefix(previous: Segment, segment: Segment) -> tuple[Segment | None, list[SegmentIssue]]:
    """The segment without leading words that repeat the end of the previous one (case-free).

    Only a repeat that overlaps the previous segment in time is one (the same audio decoded twice at
    an ASR chunk edge, a caption shown again): "...remove the nucleus. The nucleus is dense" said
    after the previous segment ended is kept.
    """
    if not segment.words or segment.words[0].start >= previous.end - OVERLAP_TOLERANCE_S:
        return segment, []
    before = [token(w.word) for w in previous.words]
    after = [token(w.word) for w in segment.words]
    for k in range(min(len(before), len(after)), 0, -1):
        if before[-k:] != after[:k] or not any(after[:k]) or (k < MIN_REPEAT_WORDS and k < len(after)):
            continue
        removed = [w.word for w in segment.words[:k]]
        if k == len(after):
            return None, [segment.issue(DROPPED, DUPLICATE, f"repeats the end of segment {previous.index}", removed)]
        rest = segment.words[k:]
        repaired = segment.repaired(DUPLICATE, words=rest, text=" ".join(w.word for w in rest),
                                    start=max(segment.start, rest[0].start))
        return repaired, [segment.issue(REPAIRED, DUPLICATE, f"{k} words repeated from segment {previous.index}",
                                        removed)]
    return segment, []


def resolve_overlap(previous: Segment, segment: Segment) -> tuple[Segment, Segment, list[SegmentIssue]]:
    """Two overlapping segments made consecutive; their words stay in their own segment, in order.

    A partial overlap is cut in the middle of the words' overlap (words clamped to their side); a
    segment nested inside the previous one shares the previous span with it, both re-spread.
    """
    overlap = previous.end - segment.start
    if segment.end <= previous.end + OVERLAP_TOLERANCE_S:
        weight_before = sum(len(w.word) + 1 for w in previous.words)
        weight_after = sum(len(w.word) + 1 for w in segment.words)
        cut = previous.start + (previous.end - previous.start) * weight_before / max(weight_before + weight_after, 1)
        end = previous.end
        previous = previous.repaired(OVERLAP, end=cut, words=respread(previous.words, previous.start, cut),
                                     atomic=True)
        segment = segment.repaired(OVERLAP, start=cut, end=end, words=respread(segment.words, cut, end), atomic=True)
        detail = f"inside segment {previous.index}: both re-timed in spoken order"
        return previous, segment, [segment.issue(REPAIRED, OVERLAP, detail)]
    first_start = segment.words[0].start if segment.words else segment.start
    last_end = max((w.end for w in previous.words), default=previous.end)
    cut = min(max((first_start + last_end) / 2, segment.start), previous.end)
    issue = segment.issue(REPAIRED, OVERLAP, f"by {overlap:.2f} s; boundary set at {cut:.2f} s")
    previous = previous.repaired(OVERLAP, end=cut, words=fit_words(previous.words, previous.start, cut))
    segment = segment.repaired(OVERLAP, start=cut, words=fit_words(segment.words, cut, segment.end))
    return previous, segment, [issue]
