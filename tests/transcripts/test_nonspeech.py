"""Non-speech is not narration: tags, lyrics, speaker marks and entities, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ophora_data.transcripts import load_transcript
from ophora_data.transcripts.json_formats import parse_json_transcript
from ophora_data.transcripts.nonspeech import attach_punctuation, clean_text, strip_non_speech


def _raw(*texts: str) -> list[tuple]:
    return [(t, None, None, None, False) for t in texts]


def _kept(*texts: str) -> list[str]:
    return [w[0] for w in strip_non_speech(_raw(*texts))[0]]


@pytest.mark.parametrize(("tokens", "kept", "removed"), [
    (["[Music]", "so", "today"], ["so", "today"], ["[Music]"]),
    (["[MUSIC", "PLAYING]", "now"], ["now"], ["[MUSIC PLAYING]"]),
    (["[", "Applause", "]", "thank", "you"], ["thank", "you"], ["[ Applause ]"]),
    (["(laughs)", "okay."], ["okay."], ["(laughs)"]),
    (["(upbeat", "music)", "we", "start"], ["we", "start"], ["(upbeat music)"]),
    ([">>", "can", "you"], ["can", "you"], [">>"]),
    ([">>Doctor,", "the", "cannula"], ["Doctor,", "the", "cannula"], [">>"]),
    (["&gt;&gt;", "can"], ["can"], [">>"]),
    (["&amp;gt;&amp;gt;", "can"], ["can"], [">>"]),  # escaped twice
    (["-", "Hello"], ["Hello"], ["-"]),
    (["-Yes,", "go"], ["Yes,", "go"], ["-"]),
    (["♪", "la", "la", "♪", "now", "incise"], ["now", "incise"], ["♪ la la ♪"]),
    (["♪♪"], [], ["♪♪"]),
    (["♪", "la", "la"], [], ["♪ la la"]),  # an unclosed note: lyrics to the end of the line
    (["salt", "&amp;", "water", "&bogus;"], ["salt", "&", "water"], ["&bogus;"]),
])
def test_non_speech_tokens(tokens: list[str], kept: list[str], removed: list[str]) -> None:
    words, found = strip_non_speech(_raw(*tokens))
    assert [w[0] for w in words] == kept and found == removed


def test_speech_that_looks_like_a_tag_is_kept() -> None:
    assert _kept("(2", "mm)", "incision") == ["(2", "mm)", "incision"]  # digits: spoken, not a sound
    assert _kept("(we", "now", "carefully", "lift", "the", "flap)") == [
        "(we", "now", "carefully", "lift", "the", "flap)"]  # more than a few words in parentheses
    assert _kept("[a", "b", "c", "d", "e", "f", "g", "h", "i", "j]") == [
        "[a", "b", "c", "d", "e", "f", "g", "h", "i", "j]"]  # a bracket that never closes nearby
    assert _kept("-5", "degrees") == ["-5", "degrees"]  # a negative number is not a speaker mark
    assert _kept("well-known", "trick") == ["well-known", "trick"]


def test_a_token_that_becomes_two_words_shares_its_span() -> None:
    words, _ = strip_non_speech([("two&nbsp;words", 1.0, 2.0, 0.9, False)])
    assert [(w[0], w[1], w[2], w[4]) for w in words] == [("two", 1.0, 1.5, True), ("words", 1.5, 2.0, True)]


def test_clean_text_and_punctuation() -> None:
    assert clean_text("Then &amp; only&nbsp;then") == "Then & only then"
    words, leftover = attach_punctuation(_raw("dye", "?", "Now", ",", "go"))
    assert [w[0] for w in words] == ["dye?", "Now,", "go"] and leftover == ""
    assert attach_punctuation(_raw("...", ""))[1] == "..."


def test_whisperx_json_non_speech_segments_and_words() -> None:
    data = {"language": "en", "segments": [
        {"start": 0.0, "end": 2.0, "text": " [Music]", "words": [{"word": "[Music]", "start": 0.0, "end": 2.0}]},
        {"start": 2.0, "end": 4.0, "text": " ♪ ♪", "words": []},
        {"start": 4.0, "end": 6.0, "text": " >> Now (laughs) insert the lens.", "words": [
            {"word": ">>", "start": 4.0, "end": 4.1}, {"word": "Now", "start": 4.1, "end": 4.4},
            {"word": "(laughs)", "start": 4.4, "end": 4.9}, {"word": "insert", "start": 4.9, "end": 5.3},
            {"word": "the", "start": 5.3, "end": 5.4}, {"word": "lens.", "start": 5.4, "end": 6.0}]},
    ]}
    transcript = parse_json_transcript(data)
    assert [s.text for s in transcript.segments] == ["Now insert the lens."]
    assert [(w.word, w.start) for w in transcript.words][:2] == [("Now", 4.1), ("insert", 4.9)]
    assert [(i.segment, i.action, i.kind, i.text) for i in transcript.issues] == [
        (0, "dropped", "non-speech", "[Music]"), (1, "dropped", "non-speech", "♪ ♪"),
        (2, "repaired", "non-speech", ">> (laughs)")]
    assert transcript.to_whisperx()["segments"][0]["text"] == "Now insert the lens."


def test_whisper_timestamped_non_speech() -> None:
    data = {"segments": [{"start": 0.0, "end": 3.0, "text": " [*] Cut here (coughs)", "words": [
        {"text": "[*]", "start": 0.0, "end": 0.5, "confidence": 0.2},
        {"text": "Cut", "start": 0.6, "end": 1.0, "confidence": 0.9},
        {"text": "here", "start": 1.1, "end": 1.5, "confidence": 0.9},
        {"text": "(coughs)", "start": 2.0, "end": 3.0, "confidence": 0.3}]}]}
    transcript = parse_json_transcript(data)
    assert transcript.source == "import:whisper-timestamped"
    assert [w.word for w in transcript.words] == ["Cut", "here"]


SUBTITLE_CUES = [
    ("00:00:00,500", "00:00:02,000", "[Music]"),
    ("00:00:02,000", "00:00:04,000", "♪ We're no strangers to love\nNow we start"),
    ("00:00:04,000", "00:00:06,000", "- Scissors, please.\n- Here you are."),
    ("00:00:06,000", "00:00:08,000", "&gt;&gt; Lift the flap &amp; rinse.\n(applause)"),
    ("00:00:08,000", "00:00:09,000", "♪♪"),
]


def _srt() -> str:
    return "\n".join(f"{n}\n{a} --> {b}\n{text}\n" for n, (a, b, text) in enumerate(SUBTITLE_CUES, 1))


def _vtt() -> str:
    return "WEBVTT\n\n" + "\n".join(f"{a.replace(',', '.')} --> {b.replace(',', '.')}\n{text}\n"
                                    for a, b, text in SUBTITLE_CUES)


@pytest.mark.parametrize(("suffix", "content"), [(".srt", _srt()), (".vtt", _vtt())])
def test_subtitle_non_speech(tmp_path: Path, suffix: str, content: str) -> None:
    path = tmp_path / f"vid{suffix}"
    path.write_text(content)
    transcript = load_transcript(path)
    assert [s.text for s in transcript.segments] == [
        "Now we start", "Scissors, please. Here you are.", "Lift the flap & rinse."]
    assert [(i.segment, i.action) for i in transcript.issues] == [
        (0, "dropped"), (1, "repaired"), (2, "repaired"), (3, "repaired"), (4, "dropped")]
    assert all(i.kind == "non-speech" for i in transcript.issues)
    assert "We're no strangers" in transcript.issues[1].text  # the lyrics line, recorded as removed
    written = json.dumps(transcript.to_whisperx()["segments"])
    for junk in ("♪", "[Music]", ">>", "&gt;", "&amp;", "(applause)", "- "):
        assert junk not in written
