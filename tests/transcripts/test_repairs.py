"""Per-segment guards and spoken order, the same kinds in every format: WhisperX and whisper-timestamped
JSON, ASR output (the dict WhisperX returns), SRT and VTT. Inputs are generated here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ophora_data.transcripts import Transcript, load_transcript
from ophora_data.transcripts.issues import DROPPED, REPAIRED, narration_kept
from ophora_data.transcripts.json_formats import parse_json_transcript
from ophora_data.transcripts.model import Segment, Word, spread_words
from ophora_data.transcripts.repair import RepairRules, loop_repeats_to_remove, repair_transcript
from ophora_data.transcripts.timing import longest_non_decreasing


def _ordered(words: list[Word]) -> bool:
    return all(a.start <= a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False))


def _issues(transcript: Transcript) -> list[tuple[int, str, str]]:
    return [(i.segment, i.action, i.kind) for i in transcript.issues]


def _words(key: str, *spec: tuple[str, float | None, float | None]) -> list[dict[str, Any]]:
    return [{key: text, **({"start": a} if a is not None else {}), **({"end": b} if b is not None else {})}
            for text, a, b in spec]


def test_longest_non_decreasing_keeps_the_later_of_a_swapped_pair() -> None:
    assert longest_non_decreasing([3.8, 4.1, 4.35, 5.9, 5.6, 6.1]) == [0, 1, 2, 4, 5]
    assert longest_non_decreasing([]) == []
    assert len(longest_non_decreasing([5.0, 4.0, 3.0, 2.0])) == 1
    assert longest_non_decreasing([1.0, 1.0, 2.0]) == [0, 1, 2]


@pytest.mark.parametrize("key", ["word", "text"])  # WhisperX, whisper-timestamped
def test_json_word_order_untimed_punctuation_and_wordless_segments(key: str) -> None:
    data = {"segments": [
        {"start": 1.0, "end": 3.0, "text": "then wash out ?", "words": _words(
            key, ("then", 2.0, 2.2), ("wash", 1.5, 1.8), ("out", 2.3, 2.5), ("?", None, None))},
        {"start": 4.0, "end": 6.0, "text": "fill the bag now", "words": _words(
            key, ("fill", 5.8, 6.0), ("the", 5.0, 5.2), ("bag", 4.6, 4.8), ("now", 4.0, 4.2))},
        {"start": 7.0, "end": 9.0, "text": "20, 30, 40.", "words": []},
        {"start": 9.5, "end": 9.5004, "text": "Okay."},
    ]}
    transcript = parse_json_transcript(data)
    assert [w.word for w in transcript.words] == ["then", "wash", "out?", "fill", "the", "bag", "now",
                                                   "20,", "30,", "40."]
    assert _ordered(transcript.words)
    first, second, third = transcript.segments
    assert first.words[0].interpolated and (first.words[0].start, first.words[0].end) == (1.0, 1.5)
    assert not first.words[1].interpolated and not first.atomic  # one word re-timed: the rest still measured
    assert second.atomic and all(w.interpolated for w in second.words)  # mostly backwards: re-spread
    assert (second.words[0].start, second.words[-1].end) == (4.0, pytest.approx(6.0))
    assert third.atomic and third.repairs == ("no word alignment",)
    assert _issues(transcript) == [(0, REPAIRED, "non-monotonic word times"), (1, REPAIRED, "non-monotonic word times"),
                                   (2, REPAIRED, "no word alignment"), (3, DROPPED, "zero-length")]
    # Written and read back (what `segment` does): nothing changes and no issue is found again.
    again = parse_json_transcript(transcript.to_whisperx())
    assert again.to_whisperx()["segments"] == transcript.to_whisperx()["segments"]
    assert again.issues == ()


def test_reversed_segments_take_their_words_span_or_are_dropped() -> None:
    data = {"segments": [
        {"start": 99.92, "end": 90.72, "text": "a b", "words": _words("word", ("a", 91.0, 91.5), ("b", 91.6, 92.0))},
        {"start": 100.0, "end": 95.0, "text": "no words here"},
    ]}
    transcript = parse_json_transcript(data)
    [segment] = transcript.segments
    assert (segment.start, segment.end) == (91.0, 92.0)
    assert _issues(transcript) == [(0, REPAIRED, "ends before it starts"), (1, DROPPED, "ends before it starts")]
    assert transcript.issues[1].text == "no words here" and transcript.issues[1].words_removed == 3


def test_json_segments_keep_file_order_and_drop_a_backwards_one() -> None:
    data = {"segments": [
        {"start": 1.0, "end": 2.0, "text": "one"}, {"start": 3.0, "end": 4.0, "text": "two"},
        {"start": 0.2, "end": 0.8, "text": "stray"}, {"start": 5.0, "end": 6.0, "text": "three"}]}
    transcript = parse_json_transcript(data)
    assert [s.text for s in transcript.segments] == ["one", "two", "three"]
    assert _issues(transcript) == [(2, DROPPED, "starts before the previous segment")]


def test_asr_output_with_overlaps_and_a_chunk_edge_repeat() -> None:
    """The dict WhisperX returns after alignment, as the ASR adapter hands it to the importer."""
    result = {"language": "en", "segments": [
        {"start": 0.5, "end": 3.0, "text": " insert the lens into the bag", "words": _words(
            "word", ("insert", 0.5, 0.9), ("the", 0.95, 1.05), ("lens", 1.1, 1.5), ("into", 1.6, 1.9),
            ("the", 2.0, 2.1), ("bag", 2.2, 3.0))},
        {"start": 2.6, "end": 5.0, "text": " into the bag and rotate it", "words": _words(
            "word", ("into", 2.6, 2.8), ("the", 2.85, 2.95), ("bag", 3.0, 3.3), ("and", 3.5, 3.7),
            ("rotate", 3.8, 4.4), ("it", 4.5, 5.0))},
    ]}
    transcript = parse_json_transcript(result, "large-v3")
    assert [w.word for w in transcript.words] == ["insert", "the", "lens", "into", "the", "bag", "and", "rotate", "it"]
    assert _ordered(transcript.words)
    assert _issues(transcript) == [(1, REPAIRED, "duplicate text")]  # the words left no longer overlap
    assert transcript.issues[0].text == "into the bag"


@pytest.mark.parametrize("second_start", [2.0, 1.8])  # touching; a segment span opening before its words
def test_a_repetition_said_after_the_previous_segment_is_kept(second_start: float) -> None:
    data = {"segments": [
        {"start": 0.0, "end": 2.0, "text": "remove the nucleus.", "words": _words(
            "word", ("remove", 0.0, 0.6), ("the", 0.7, 0.8), ("nucleus.", 0.9, 2.0))},
        {"start": second_start, "end": 4.0, "text": "The nucleus is dense.", "words": _words(
            "word", ("The", 2.0, 2.2), ("nucleus", 2.3, 2.9), ("is", 3.0, 3.2), ("dense.", 3.3, 4.0))},
    ]}
    transcript = parse_json_transcript(data)
    assert [w.word for w in transcript.words][3:5] == ["The", "nucleus"] and len(transcript.words) == 7
    assert all(i.kind != "duplicate text" for i in transcript.issues)


def test_a_cue_shown_again_inside_the_previous_one_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "vid.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:05,000\nInsert the lens.\n\n"
                    "2\n00:00:02,000 --> 00:00:04,000\ninsert the lens\n")
    transcript = load_transcript(path)
    assert [s.text for s in transcript.segments] == ["Insert the lens."]
    assert _issues(transcript) == [(1, DROPPED, "duplicate text")]


def test_partial_overlap_is_cut_between_the_words() -> None:
    data = {"segments": [
        {"start": 1.0, "end": 4.2, "text": "stain the capsule", "words": _words(
            "word", ("stain", 1.0, 1.8), ("the", 1.9, 2.0), ("capsule", 2.1, 4.2))},
        {"start": 3.8, "end": 6.0, "text": "wait one minute", "words": _words(
            "word", ("wait", 3.8, 4.05), ("one", 4.3, 4.6), ("minute", 4.7, 6.0))},
    ]}
    transcript = parse_json_transcript(data)
    first, second = transcript.segments
    assert first.end == second.start == pytest.approx(4.0)
    assert first.words[-1].end == pytest.approx(4.0) and first.words[-1].interpolated
    assert second.words[0].start == pytest.approx(4.0) and not second.words[1].interpolated
    assert _issues(transcript) == [(1, REPAIRED, "overlapping segments")]


SRT_FAULTS = """1
00:00:01,000 --> 00:00:04,000
Insert the speculum now.

2
00:00:03,000 --> 00:00:06,000
Then make the incision.

3
00:00:07,000 --> 00:00:10,000
Hydrodissect the lens.

4
00:00:08,000 --> 00:00:09,000
Gently.

5
00:00:12,000 --> 00:00:11,000
This cue ends before it starts.

6
00:00:13,000 --> 00:00:13,000
Zero length.

8
00:00:16,000 --> 00:00:18,000
Then we polish the capsule.

7
00:00:14,000 --> 00:00:15,500
Remove the cortex.

9
00:00:18,000 --> 00:00:20,000
Then we polish the capsule.
and close the wound.
"""


def _as_vtt(srt: str) -> str:
    blocks = [block.split("\n", 1)[1] for block in srt.strip().split("\n\n")]
    return "WEBVTT\n\n" + "\n\n".join(block.replace(",", ".", 2) for block in blocks) + "\n"


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_subtitle_cues_by_start_overlaps_nesting_and_bad_cues(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"vid{suffix}"
    path.write_text(SRT_FAULTS if suffix == ".srt" else _as_vtt(SRT_FAULTS))
    transcript = load_transcript(path)
    assert [s.text for s in transcript.segments] == [
        "Insert the speculum now.", "Then make the incision.", "Hydrodissect the lens.", "Gently.",
        "Remove the cortex.", "Then we polish the capsule.", "and close the wound."]
    words = transcript.words
    assert _ordered(words)  # never interleaved: every cue's words stay together, cues by start
    overlap, nested = transcript.segments[0], transcript.segments[2]
    assert overlap.end == transcript.segments[1].start == pytest.approx(3.5)
    assert nested.atomic and transcript.segments[3].atomic and transcript.segments[3].end == 10.0
    assert _issues(transcript) == [
        (1, REPAIRED, "overlapping segments"), (3, REPAIRED, "overlapping segments"),
        (4, DROPPED, "ends before it starts"), (5, DROPPED, "zero-length")]
    assert transcript.issues[2].text == "This cue ends before it starts."


def test_loops_across_segments_keep_the_first_occurrence() -> None:
    segments = [Segment(0.0, 3.0, "We close the wound.", spread_words("We close the wound.", 0.0, 3.0), 0)]
    segments += [Segment(3.0 + k, 4.0 + k, "Thank you.", spread_words("Thank you.", 3.0 + k, 4.0 + k), 1 + k)
                 for k in range(8)]
    repaired = repair_transcript(Transcript(tuple(segments), "en", "asr"), None, RepairRules())
    assert [s.text for s in repaired.segments] == ["We close the wound.", "Thank you."]
    assert [(i.segment, i.action) for i in repaired.issues] == [(k, DROPPED) for k in range(2, 9)]
    assert {i.detail for i in repaired.issues} == {"'thank you' x8"}
    assert narration_kept(len(repaired.words), repaired.issues) == pytest.approx(6 / 20)


def test_loop_runs_prefer_the_shortest_period_and_need_enough_repeats() -> None:
    tokens = ["a", "b", *["thank", "you"] * 6, "c"]
    removed = loop_repeats_to_remove(tokens, 5, 8)
    assert sorted(removed) == list(range(4, 14)) and set(removed.values()) == {("thank you", 6)}
    assert loop_repeats_to_remove(["the", "the", "lens", "the", "the"], 5, 8) == {}
    assert sorted(loop_repeats_to_remove(["you"] * 5, 5, 8)) == [1, 2, 3, 4]
    assert loop_repeats_to_remove(["you"] * 4, 5, 8) == {}


def test_implausibly_fast_segments_are_dropped() -> None:
    fast = "one two three four five six seven eight nine ten eleven twelve thirteen"
    segments = (Segment(0.0, 2.0, "insert the lens", spread_words("insert the lens", 0.0, 2.0), 0),
                Segment(2.0, 3.0, fast, spread_words(fast, 2.0, 3.0), 1))
    repaired = repair_transcript(Transcript(segments, "en", "asr"), None, RepairRules(max_words_per_s=12))
    assert [s.index for s in repaired.segments] == [0]
    [issue] = repaired.issues
    assert issue.kind == "implausibly fast" and issue.detail == "13 words in 1.00 s (13.0/s > 12/s)"
    relaxed = repair_transcript(Transcript(segments, "en", "asr"), None, RepairRules(max_words_per_s=14))
    assert len(relaxed.segments) == 2
