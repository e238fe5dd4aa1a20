"""JSON importers: WhisperX (a real output), whisper-timestamped, plain Whisper segments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ophora_data.transcripts import TranscriptFormatError, load_transcript
from ophora_data.transcripts.json_formats import normalise_language, parse_json_transcript


def test_real_whisperx_output_keeps_segments_words_and_the_long_silence(realdata: Path) -> None:
    transcript = load_transcript(realdata / "asr" / "whisperx_pr1119_example.reference_whisperx.json")
    assert transcript.source == "import:whisperx"
    assert transcript.language == "en"
    assert len(transcript.segments) == 2
    first = transcript.segments[0]
    assert [w.word for w in first.words] == ["Okay,", "got", "it."]
    # The 2.75 s silence inside segment 1 ("got" ends 0.894, "it." starts 3.643) is preserved exactly.
    assert first.words[2].start - first.words[1].end == pytest.approx(2.749, abs=1e-6)
    assert [w.score for w in first.words] == [0.672, 0.795, 0.788]
    assert not any(w.interpolated for w in transcript.words)
    assert len(transcript.words) == 8
    out = transcript.to_whisperx()
    assert out["segments"][1]["words"][0] == {"word": "I", "start": 7.395, "end": 7.455, "score": 0.97}
    assert len(out["word_segments"]) == 8


def test_whisper_timestamped_words_map_text_and_confidence(tmp_path: Path) -> None:
    data = {"text": " Hello there.", "language": "en", "segments": [
        {"id": 0, "seek": 0, "start": 0.5, "end": 1.6, "text": " Hello there.", "tokens": [1, 2],
         "words": [{"text": "Hello", "start": 0.5, "end": 0.9, "confidence": 0.91},
                   {"text": "there.", "start": 1.0, "end": 1.6, "confidence": 0.72}]}]}
    path = tmp_path / "vid.json"
    path.write_text(json.dumps(data))
    transcript = load_transcript(path)
    assert transcript.source == "import:whisper-timestamped"
    assert [(w.word, w.start, w.end, w.score) for w in transcript.words] == [
        ("Hello", 0.5, 0.9, 0.91), ("there.", 1.0, 1.6, 0.72)]


def test_segments_without_words_get_interpolated_word_times() -> None:
    transcript = parse_json_transcript({"segments": [{"start": 2.0, "end": 4.0, "text": " insert the lens"}]})
    words = transcript.words
    assert [w.word for w in words] == ["insert", "the", "lens"]
    assert all(w.interpolated and w.score is None for w in words)
    assert words[0].start == 2.0 and words[-1].end == pytest.approx(4.0)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(words, words[1:], strict=False))
    assert transcript.to_whisperx()["segments"][0]["words"][0]["interpolated"] is True


def test_unaligned_words_are_placed_between_timed_neighbours_and_marked() -> None:
    segment = {"start": 1.0, "end": 3.0, "text": "cut 2 mm", "words": [
        {"word": "cut", "start": 1.0, "end": 1.4, "score": 0.9}, {"word": "2"},
        {"word": "mm", "start": 2.0, "end": 2.4, "score": 0.8}]}
    words = parse_json_transcript({"segments": [segment]}).words
    assert words[1].interpolated and words[1].start == 1.4 and words[1].end == pytest.approx(2.0)
    assert not words[0].interpolated and not words[2].interpolated


def test_interpolated_flag_of_a_sidecar_is_kept() -> None:
    words = [{"word": "Now", "start": 0.5, "end": 0.7, "score": 1.0, "interpolated": True}]
    transcript = parse_json_transcript({"language": "en", "segments": [
        {"start": 0.5, "end": 0.7, "text": "Now", "words": words}]})
    assert transcript.words[0].interpolated


def test_nan_and_missing_segment_times_are_handled() -> None:
    data = {"segments": [{"text": "lost"}, {"start": float("nan"), "end": 2.0, "text": "x", "words": [
        {"word": "x", "start": 1.0, "end": 2.0, "score": 0.5}]}]}
    transcript = parse_json_transcript(data)
    assert len(transcript.segments) == 1 and transcript.segments[0].start == 1.0
    [issue] = transcript.issues
    assert (issue.segment, issue.action, issue.kind, issue.text) == (0, "dropped", "no timing", "lost")


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "invalid JSON"),
    ('{"text": "no segments"}', "no 'segments' list"),
    ("[1, 2]", "no 'segments' list"),
])
def test_bad_json_gives_a_readable_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TranscriptFormatError, match=message) as info:
        load_transcript(path)
    assert "bad.json" in str(info.value)


def test_language_codes_are_normalised() -> None:
    assert normalise_language("en-US") == "en"
    assert normalise_language("EN_gb") == "en"
    assert normalise_language("") is None
    assert normalise_language(None) is None
