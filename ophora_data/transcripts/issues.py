"""What happened to a transcript's segments: dropped or repaired, of which kind, and how much was lost.

Faults in transcripts from the field are usually local (one segment with backwards word times,
one 0.4 ms segment, one hallucination loop), so they are handled per segment and recorded here;
a video is rejected only by the global guards (`guards.py`), e.g. when too little narration is left.
`kind` is a stable key (it groups in `status`); `detail` says what exactly was found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DROPPED, REPAIRED = "dropped", "repaired"

# Kinds, shared by every format and by ASR output.
NON_SPEECH = "non-speech"  # [Music], (laughs), ♪ lyrics, >>, speaker dashes, leftover HTML entities
NO_TIMING = "no timing"  # neither segment nor word times
REVERSED = "ends before it starts"
ZERO_LENGTH = "zero-length"
NO_ALIGNMENT = "no word alignment"  # a word-level file with a segment whose words could not be aligned
WORD_ORDER = "non-monotonic word times"
OUT_OF_ORDER = "starts before the previous segment"
OVERLAP = "overlapping segments"
DUPLICATE = "duplicate text"
PAST_END = "past the media end"
TOO_FAST = "implausibly fast"
LOOP = "hallucination loop"

# Removed text that never was narration: it does not count against `narration_kept`.
NOT_NARRATION = frozenset({NON_SPEECH, DUPLICATE})
MAX_TEXT_CHARS = 500  # an issue keeps the text it removed, cut to this length


@dataclass(frozen=True)
class SegmentIssue:
    """One segment dropped or repaired.

    `segment` is the segment's 0-based position in the source (file or ASR output); `start`/`end`
    are its times in seconds as found; `text` is what was removed ("" when only times changed) and
    `words_removed` how many words that was.
    """

    segment: int
    start: float | None
    end: float | None
    action: str  # DROPPED or REPAIRED
    kind: str
    detail: str = ""
    text: str = ""
    words_removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"segment": self.segment, "start": _rounded(self.start), "end": _rounded(self.end),
                "action": self.action, "kind": self.kind, "detail": self.detail,
                "text": self.text[:MAX_TEXT_CHARS], "words_removed": self.words_removed}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def counts_by_kind(issues: Iterable[SegmentIssue], action: str) -> dict[str, int]:
    """{kind: number of segments} for one action."""
    return dict(Counter(issue.kind for issue in issues if issue.action == action))


def segments_with(issues: Iterable[SegmentIssue], action: str) -> int:
    """Distinct source segments dropped, or repaired and kept (a repaired then dropped one is dropped)."""
    issues = list(issues)
    dropped = {issue.segment for issue in issues if issue.action == DROPPED}
    if action == DROPPED:
        return len(dropped)
    return len({issue.segment for issue in issues if issue.action == action} - dropped)


def lost_words(issues: Iterable[SegmentIssue]) -> int:
    """Narration words removed: every removal except non-speech and duplicated text."""
    return sum(issue.words_removed for issue in issues if issue.kind not in NOT_NARRATION)


def narration_kept(kept_words: int, issues: Iterable[SegmentIssue]) -> float:
    """Fraction of the narration's words still in the transcript (1.0 when nothing was lost)."""
    lost = lost_words(issues)
    total = kept_words + lost
    return kept_words / total if total else 1.0
