"""Timed words -> sentences -> clip windows, on real WhisperX output and real long narrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ophora_data.config.segment import SegmentConfig
from ophora_data.text.sentences import sentence_word_ranges
from ophora_data.text.windowing import Window, plan_windows
from ophora_data.text.words import TranscriptError, Word, load_words
from tests.text.timed_text import timed_transcript

WHISPERX = "asr/whisperx_pr1119_example.reference_whisperx.json"


def _windows(words: list[Word], cfg: SegmentConfig = SegmentConfig(), media_end: float | None = None
             ) -> list[Window]:
    return plan_windows(words, sentence_word_ranges(words, cfg.spacy_model), cfg, media_end)


def assert_no_word_is_cut(words: list[Word], windows: list[Window]) -> None:
    for window in windows:
        for boundary in (window.start, window.end):
            assert not any(w.start < boundary - 1e-6 and boundary + 1e-6 < w.end for w in words), boundary
        inside = words[window.first : window.stop]
        assert window.start <= inside[0].start and inside[-1].end <= window.end + 1e-6


def assert_partition(words: list[Word], windows: list[Window]) -> None:
    """Every word in exactly one window, in order; windows never overlap."""
    assert windows[0].first == 0 and windows[-1].stop == len(words)
    for left, right in zip(windows, windows[1:], strict=False):
        assert left.stop == right.first
        assert left.end <= right.start + 1e-6


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


def test_real_whisperx_long_silence_is_a_boundary(realdata: Path) -> None:
    words = load_words(realdata / WHISPERX)
    assert [w.text for w in words] == ["Okay,", "got", "it.", "I", "don't,", "I", "don't", "know."]
    windows = _windows(words)
    assert_partition(words, windows)
    assert_no_word_is_cut(words, windows)
    # The 2.75 s silence inside segment 1 splits "Okay, got" from "it.".
    assert [(w.first, w.stop) for w in windows] == [(0, 2), (2, 3), (3, 8)]
    # This 8 s recording has no 2 s stretch of continuous speech: every window is rejected, with the reason.
    assert all("shorter than segment.min_s" in w.reason for w in windows)
    loose = _windows(words, SegmentConfig(min_s=0.3, max_s=10))
    assert all(not w.reason for w in loose)


def _long_narrations(realdata: Path) -> list[str]:
    texts = []
    for path in sorted((realdata / "text").glob("vlm_surgery_eval_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts += [record[k] for k in ("reference_narration", "model_response") if record.get(k)]
    return texts


def test_real_long_narrations_bounds_hold_and_words_are_whole(realdata: Path, tmp_path: Path) -> None:
    cfg = SegmentConfig()
    narrations = _long_narrations(realdata)
    assert len(narrations) >= 15
    kept = rejected = 0
    durations = []
    for index, text in enumerate(narrations):
        words = load_words(_write(tmp_path, timed_transcript(text, long_pause_every=3 + index % 4)))
        windows = _windows(words, cfg)
        assert_partition(words, windows)
        assert_no_word_is_cut(words, windows)
        for window in windows:
            if window.reason:
                rejected += 1
                assert ("shorter" in window.reason) == (window.duration < cfg.min_s)
            else:
                kept += 1
                durations.append(window.duration)
                assert cfg.min_s <= window.duration <= cfg.max_s
    assert kept > 10 * rejected  # real narration nearly always fits the bounds
    assert 3.0 < sum(durations) / len(durations) < 8.5  # the paper's mean was ~5.5 s


def test_long_sentence_is_split_at_its_longest_pause(tmp_path: Path) -> None:
    # One 20-word sentence (~12 s) with a single 0.8 s pause after word 9.
    words = []
    cursor = 0.0
    for index in range(20):
        words.append({"word": f"word{index}", "start": cursor, "end": cursor + 0.5})
        cursor += 0.55 + (0.8 if index == 9 else 0.0)
    path = _write(tmp_path, {"segments": [{"start": 0, "end": cursor, "text": "", "words": words}]})
    loaded = load_words(path)
    windows = _windows(loaded)
    assert [(w.first, w.stop) for w in windows] == [(0, 10), (10, 20)]
    assert all(not w.reason for w in windows)


def test_short_sentences_merge_but_never_across_a_long_silence(tmp_path: Path) -> None:
    text = "Cut here. Now lift. Then pull gently. Stop."
    data = timed_transcript(text, long_pause_every=3, long_pause_s=2.0)
    words = load_words(_write(tmp_path, data))
    windows = _windows(words)
    assert [" ".join(w.text for w in words[x.first : x.stop]) for x in windows] == [
        "Cut here. Now lift. Then pull gently.", "Stop."]
    assert windows[1].reason  # alone after the silence and too short


def test_padding_never_reaches_a_neighbouring_word(tmp_path: Path) -> None:
    cfg = SegmentConfig(pad_s=0.5, min_s=0.5)
    data = {"segments": [{"start": 0.0, "end": 5.0, "text": "", "words": [
        {"word": "One.", "start": 0.2, "end": 1.5}, {"word": "Two.", "start": 1.7, "end": 3.0}]}]}
    words = load_words(_write(tmp_path, data))
    windows = _windows(words, cfg)
    assert [(w.start, w.end) for w in windows] == [(0.0, 1.6), (1.6, 3.5)]


def test_windows_outside_the_video_are_rejected(tmp_path: Path) -> None:
    data = timed_transcript("Make the incision now please. Inject the viscoelastic into the chamber.",
                            long_pause_every=1, long_pause_s=2.0)
    words = load_words(_write(tmp_path, data))
    windows = _windows(words, media_end=3.0)
    assert windows[0].end <= 3.0
    assert "after the end of the video" in windows[-1].reason


def test_unaligned_words_and_segments_without_words_get_times(tmp_path: Path) -> None:
    data = {"segments": [
        {"start": 0.0, "end": 2.0, "text": "Set 2.5 mm", "words": [
            {"word": "Set", "start": 0.0, "end": 0.4}, {"word": "2.5"},
            {"word": "mm", "start": 1.2, "end": 1.6}]},
        {"start": 3.0, "end": 4.0, "text": "Imported subtitle text"},
    ]}
    words = load_words(_write(tmp_path, data))
    assert [w.text for w in words] == ["Set", "2.5", "mm", "Imported", "subtitle", "text"]
    assert words[1].interpolated and 0.4 <= words[1].start < words[1].end <= 1.2
    assert all(w.interpolated for w in words[3:]) and words[3].start == 3.0 and words[-1].end == 4.0


@pytest.mark.parametrize("content", ["not json", "[]", '{"text": "no segments"}'])
def test_bad_transcripts_raise_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TranscriptError):
        load_words(path)
    with pytest.raises(TranscriptError, match="not found"):
        load_words(tmp_path / "missing.json")


def test_sentences_never_split_a_word() -> None:
    texts = ["Dr.", "Smith", "said:", "ok.", "e.g.", "2.5", "mm!", "Next", "one"]
    words = [Word(t, i, i + 0.5) for i, t in enumerate(texts)]
    ranges = sentence_word_ranges(words)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(words)
    assert all(a < b for a, b in ranges)
    assert sum(b - a for a, b in ranges) == len(words)
    assert ranges[0] == (0, 4)  # "Dr." does not end a sentence


def test_words_keep_spoken_order_never_a_sort_by_time(tmp_path: Path) -> None:
    """whisperX #419: times running backwards inside a segment; overlapping segments."""
    data = {"segments": [
        {"start": 1.0, "end": 4.2, "text": "", "words": [
            {"word": "Now", "start": 1.0, "end": 1.4}, {"word": "stain", "start": 1.5, "end": 2.0},
            {"word": "the", "start": 2.1, "end": 2.3}, {"word": "capsule.", "start": 2.4, "end": 4.2}]},
        {"start": 3.8, "end": 6.9, "text": "", "words": [
            {"word": "Wait,", "start": 3.8, "end": 4.3}, {"word": "then", "start": 5.9, "end": 6.05},
            {"word": "wash", "start": 5.6, "end": 5.85}, {"word": "out.", "start": 6.1, "end": 6.9}]},
        {"start": 9.92, "end": 12.84, "text": "", "words": [
            {"word": "Fill", "start": 12.66, "end": 12.84}, {"word": "the", "start": 10.4, "end": 10.58},
            {"word": "bag.", "start": 9.92, "end": 9.98}]},
    ]}
    words = load_words(_write(tmp_path, data))
    assert [w.text for w in words] == ["Now", "stain", "the", "capsule.", "Wait,", "then", "wash", "out.",
                                       "Fill", "the", "bag."]
    assert [w.segment for w in words] == [0] * 4 + [1] * 4 + [2] * 3
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    windows = _windows(words)
    assert_partition(words, windows)
    assert all(w.start < w.end for w in windows)
    assert [(w.first, w.stop) for w in windows][-1] == (8, 11)  # the re-timed segment is one unit
    assert windows[-1].start <= 9.92 and windows[-1].end >= 12.84


def test_an_atomic_segment_is_never_merged_with_its_neighbours() -> None:
    def seg(texts: list[str], start: float, index: int, atomic: bool) -> list[Word]:
        return [Word(t, start + 0.4 * k, start + 0.4 * k + 0.35, atomic, index, atomic) for k, t in enumerate(texts)]

    words = seg(["Cut", "here."], 0.0, 0, False) + seg(["20,", "30,", "40."], 1.0, 1, True) + \
        seg(["Now", "lift."], 2.4, 2, False)
    windows = _windows(words, SegmentConfig(min_s=2.0))
    assert [(w.first, w.stop) for w in windows] == [(0, 2), (2, 5), (5, 7)]
    assert all("shorter than segment.min_s" in w.reason for w in windows)  # rejected alone, never merged
    plain = [Word(w.text, w.start, w.end, False, w.segment, False) for w in words]
    assert [(w.first, w.stop) for w in _windows(plain, SegmentConfig(min_s=2.0))] == [(0, 7)]


def test_interpolated_flags_of_the_file_are_read(tmp_path: Path) -> None:
    data = {"segments": [{"start": 0.0, "end": 1.0, "text": "a b", "words": [
        {"word": "a", "start": 0.0, "end": 0.5, "interpolated": True}, {"word": "b", "start": 0.5, "end": 1.0}]}]}
    assert [w.interpolated for w in load_words(_write(tmp_path, data))] == [True, False]
