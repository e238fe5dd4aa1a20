"""Video-level measurements that catch broken transcripts; the stage turns each into a check row.

Local faults are repaired or dropped per segment first (`normalise.py`, `repair.py`); these guards
judge what is left, so a video is rejected only for a global fault (wrong language, no speech,
garbage alignment) or when too little of its narration survived the repairs (`narration_kept`).
Each function returns a value (stored in the check row, so `refilter` can re-decide with new
bounds) and, where useful, what it found, for the row's reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ophora_data.transcripts.issues import NOT_NARRATION, narration_kept
from ophora_data.transcripts.model import Transcript, Word

_NOT_WORD = re.compile(r"[^\w']+")


def token(word: str) -> str:
    """Case- and punctuation-free form: 'Thank,' and 'thank' are the same word for loop detection."""
    return _NOT_WORD.sub("", word.lower())


@dataclass(frozen=True)
class Loop:
    repeats: int  # consecutive occurrences of the phrase (1 = no repetition)
    phrase: str


def longest_loop(words: list[Word], max_ngram: int = 8) -> Loop:
    """The n-gram (n <= max_ngram) repeated back to back the most times: Whisper's hallucination loop.

    For each period n, a run of positions where token[i] == token[i + n] of length L means the
    n-gram starting the run is repeated L // n + 1 times in a row. O(len(words) * max_ngram).
    """
    tokens = [t for t in (token(w.word) for w in words) if t]
    best = Loop(1 if tokens else 0, tokens[0] if tokens else "")
    for n in range(1, min(max_ngram, len(tokens) // 2) + 1):
        run = 0
        for i in range(len(tokens) - n):
            run = run + 1 if tokens[i] == tokens[i + n] else 0
            repeats = run // n + 1
            if repeats > best.repeats:
                start = i - run + 1
                best = Loop(repeats, " ".join(tokens[start : start + n]))
    return best


def time_overrun(transcript: Transcript, duration_s: float | None) -> float:
    """Seconds by which the latest timestamp passes the media's end (0 when within, or unknown)."""
    if duration_s is None or not transcript.segments:
        return 0.0
    latest = max(max(s.end, *(w.end for w in s.words)) if s.words else s.end for s in transcript.segments)
    return max(0.0, latest - duration_s)


def order_violations(words: list[Word], tolerance_s: float = 0.01) -> float:
    """Fraction of consecutive word pairs where the next starts before the previous (out of order)
    or before the previous ends (overlap), beyond a rounding tolerance."""
    if len(words) < 2:
        return 0.0
    bad = sum(1 for a, b in zip(words, words[1:], strict=False)
              if b.start < a.start - tolerance_s or b.start < a.end - tolerance_s)
    return bad / (len(words) - 1)


def mean_confidence(words: list[Word]) -> float | None:
    """Mean score of the words that have one and were really aligned; None when none has."""
    scores = [w.score for w in words if w.score is not None and not w.interpolated]
    return sum(scores) / len(scores) if scores else None


def same_language(expected: str | None, observed: str | None) -> bool:
    """True when no language is required, or when the observed one (if known) matches it."""
    if expected is None or observed is None:
        return True
    return expected.split("-")[0].lower() == observed.split("-")[0].lower()


@dataclass(frozen=True)
class GuardResult:
    """One guard's measurement. `check` names its Bound in the transcribe config; flags have none."""

    check: str
    value: float | None
    label: str  # what a failure means, for the row's reason
    flag: bool | None = None  # set for pass/fail guards without a tunable bound


def loss_summary(transcript: Transcript) -> str:
    """'lost: 12 words (hallucination loop 10, past the media end 2)': what cost narration, by kind."""
    lost: dict[str, int] = {}
    for issue in transcript.issues:
        if issue.kind not in NOT_NARRATION and issue.words_removed:
            lost[issue.kind] = lost.get(issue.kind, 0) + issue.words_removed
    parts = ", ".join(f"{kind} {count}" for kind, count in sorted(lost.items(), key=lambda kv: -kv[1]))
    return f"lost: {sum(lost.values())} words ({parts})" if lost else "nothing lost"


def evaluate_guards(transcript: Transcript, overrun_s: float, expected_language: str | None,
                    observed_language: str | None, loop_max_ngram: int = 8) -> list[GuardResult]:
    """Every guard for one repaired transcript; `overrun_s` is measured before clamping to the media."""
    words = transcript.words
    loop = longest_loop(words, loop_max_ngram)
    results = [
        GuardResult("n_words", float(len(words)), "no speech detected"),
        GuardResult("loop_repeats", float(loop.repeats), f"hallucination loop ({loop.phrase!r} repeated)"),
        GuardResult("time_overrun_s", overrun_s, "timestamps beyond the media duration (clamped)"),
        GuardResult("word_order_violations", order_violations(words), "words out of order or overlapping"),
        GuardResult("narration_kept", narration_kept(len(words), transcript.issues),
                    f"too little narration left ({loss_summary(transcript)})"),
    ]
    confidence = mean_confidence(words)
    if confidence is not None:  # subtitles and interpolated words have no alignment score to judge
        results.append(GuardResult("mean_word_confidence", confidence, "very low mean word confidence"))
    matches = same_language(expected_language, observed_language)
    results.append(GuardResult("language", 1.0 if matches else 0.0,
                               f"language {observed_language!r} is not the configured {expected_language!r}",
                               flag=matches))
    return results
