"""Guards on crafted transcripts: loops, overrun + clamping, order, confidence, language."""

from __future__ import annotations

import pytest

from ophora_data.transcripts.guards import (
    evaluate_guards,
    longest_loop,
    mean_confidence,
    order_violations,
    same_language,
    time_overrun,
)
from ophora_data.transcripts.issues import DROPPED, PAST_END, REPAIRED
from ophora_data.transcripts.model import Segment, Transcript, Word, spread_words
from ophora_data.transcripts.repair import RepairRules, repair_transcript


def _transcript(text: str, start: float = 0.0, end: float = 10.0) -> Transcript:
    return Transcript((Segment(start, end, text, spread_words(text, start, end)),), "en", "import:srt")


def _words(*spans: tuple[float, float], score: float | None = 0.9) -> list[Word]:
    return [Word(f"w{i}", a, b, score) for i, (a, b) in enumerate(spans)]


def test_thank_you_loop_is_found_with_its_phrase() -> None:
    words = _transcript("Now we close the wound. " + "Thank you. " * 12).words
    loop = longest_loop(words)
    assert loop.repeats == 12 and loop.phrase == "thank you"


def test_single_word_loop_and_normal_speech() -> None:
    assert longest_loop(_transcript("you you you you you you").words).repeats == 6
    normal = _transcript("we insert the lens and then the the viscoelastic is removed").words
    assert longest_loop(normal).repeats == 2  # a natural "the the" stays far below the default bound
    assert longest_loop([]).repeats == 0


def test_overrun_is_measured_then_clamped() -> None:
    transcript = Transcript((
        Segment(1.0, 4.0, "a b", (Word("a", 1.0, 2.0), Word("b", 2.0, 4.0))),
        Segment(6.0, 7.0, "c", (Word("c", 6.0, 7.0),)),
    ), "en", "asr")
    assert time_overrun(transcript, 3.0) == pytest.approx(4.0)
    assert time_overrun(transcript, 10.0) == 0.0
    assert time_overrun(transcript, None) == 0.0
    clamped = repair_transcript(transcript, 3.0, RepairRules())
    assert len(clamped.segments) == 1  # the segment starting after the end is dropped
    assert clamped.segments[0].end == 3.0 and clamped.words[-1].end == 3.0
    assert time_overrun(clamped, 3.0) == 0.0
    assert [(i.action, i.kind, i.text) for i in clamped.issues] == [(REPAIRED, PAST_END, ""), (DROPPED, PAST_END, "c")]


def test_order_violations_count_overlaps_and_reversals() -> None:
    assert order_violations(_words((0, 1), (1, 2), (2, 3))) == 0.0
    assert order_violations(_words((0, 1), (0.5, 2), (2, 3))) == pytest.approx(0.5)  # overlap
    assert order_violations(_words((5, 6), (1, 2), (2, 3))) == pytest.approx(0.5)  # out of order
    assert order_violations(_words((0, 1.005), (1.0, 2))) == 0.0  # rounding tolerance


def test_mean_confidence_ignores_interpolated_and_unscored_words() -> None:
    words = [Word("a", 0, 1, 0.2), Word("b", 1, 2, 0.4), Word("c", 2, 3, 1.0, interpolated=True),
             Word("d", 3, 4, None)]
    assert mean_confidence(words) == pytest.approx(0.3)
    assert mean_confidence(_transcript("no scores here").words) is None


def test_language_matching() -> None:
    assert same_language("en", "en-US") and same_language(None, "de") and same_language("en", None)
    assert not same_language("en", "de")


def test_evaluate_guards_names_each_check() -> None:
    results = {r.check: r for r in evaluate_guards(_transcript("Thank you " * 10), 2.5, "en", "de")}
    assert results["loop_repeats"].value == 10 and "'thank you'" in results["loop_repeats"].label
    assert results["time_overrun_s"].value == 2.5
    assert results["n_words"].value == 20
    assert results["narration_kept"].value == 1.0 and "nothing lost" in results["narration_kept"].label
    assert "mean_word_confidence" not in results  # subtitles carry no scores
    assert results["language"].flag is False and "'de'" in results["language"].label
