"""VTT and SRT importers: cue timing, interpolated words, YouTube's rolling auto-captions."""

from __future__ import annotations

from pathlib import Path

import pytest

from ophora_data.transcripts import TranscriptFormatError, Word, load_transcript

SIMPLE_VTT = """WEBVTT
Kind: captions
Language: en

NOTE a comment block that is not a cue

1
00:00:01.000 --> 00:00:03.000 align:start position:0%
Now I make a <i>clear</i> corneal incision.

2
00:00:04.500 --> 00:00:06.000
Then &amp; only then
we inject viscoelastic.
"""

# YouTube auto-captions: each cue repeats the previous line; new words carry inline start times.
ROLLING_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.400 --> 00:00:02.350 align:start position:0%
<SPACE>
so<00:00:00.800><c> today</c><00:00:01.200><c> we</c>

00:00:02.350 --> 00:00:02.360 align:start position:0%
so today we
<SPACE>

00:00:02.360 --> 00:00:05.000 align:start position:0%
so today we
start<00:00:03.000><c> the</c><00:00:03.400><c> rhexis</c>
""".replace("<SPACE>", " ")  # YouTube's lone-space lines are part of the format

SRT = """1
00:00:00,500 --> 00:00:02,000
<i>Insert the</i> {\\an8}lens

2
00:00:02,500 --> 00:00:04,250
into the bag.
"""


def _ordered(words: list[Word]) -> bool:
    return all(a.start <= a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False))


def test_vtt_cues_become_segments_with_interpolated_words(tmp_path: Path) -> None:
    path = tmp_path / "vid.vtt"
    path.write_text(SIMPLE_VTT)
    transcript = load_transcript(path)
    assert transcript.source == "import:vtt" and transcript.language == "en"
    assert [(s.start, s.end) for s in transcript.segments] == [(1.0, 3.0), (4.5, 6.0)]
    assert transcript.segments[0].text == "Now I make a clear corneal incision."
    assert transcript.segments[1].text == "Then & only then we inject viscoelastic."
    words = transcript.words
    assert all(w.interpolated and w.score is None for w in words)
    assert _ordered(words)
    assert words[0].start == 1.0 and transcript.segments[0].words[-1].end == pytest.approx(3.0)


def test_rolling_youtube_vtt_drops_repeats_and_keeps_inline_word_times(tmp_path: Path) -> None:
    path = tmp_path / "abc.en.vtt"
    path.write_text(ROLLING_VTT)
    transcript = load_transcript(path)
    assert [w.word for w in transcript.words] == ["so", "today", "we", "start", "the", "rhexis"]
    starts = {w.word: w.start for w in transcript.words}
    assert starts == {"so": 0.4, "today": 0.8, "we": 1.2, "start": 2.36, "the": 3.0, "rhexis": 3.4}
    assert not any(w.interpolated for w in transcript.words)
    assert _ordered(transcript.words)


def test_srt_with_tags_and_comma_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "case.de.srt"
    path.write_text(SRT)
    transcript = load_transcript(path)
    assert transcript.source == "import:srt"
    assert transcript.language == "de"  # from the yt-dlp style file name
    assert [s.text for s in transcript.segments] == ["Insert the lens", "into the bag."]
    assert transcript.segments[1].start == 2.5 and transcript.segments[1].end == 4.25
    assert all(w.interpolated for w in transcript.words) and _ordered(transcript.words)


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "win.srt"
    path.write_bytes(("\ufeff" + SRT).replace("\n", "\r\n").encode("utf-8"))
    assert len(load_transcript(path).segments) == 2


def test_a_file_that_is_not_vtt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vid.vtt"
    path.write_text("1\n00:00:00,500 --> 00:00:02,000\nhello\n")
    with pytest.raises(TranscriptFormatError, match="not a WebVTT file"):
        load_transcript(path)


def test_a_broken_timing_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vid.srt"
    path.write_text("1\n00:00:xx --> 00:00:02,000\nhello\n")
    with pytest.raises(TranscriptFormatError, match="unreadable cue timing"):
        load_transcript(path)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "vid.txt"
    path.write_text("hello")
    with pytest.raises(TranscriptFormatError, match="unsupported"):
        load_transcript(path)
