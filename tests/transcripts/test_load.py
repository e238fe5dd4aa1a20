"""Where transcripts are looked for, and in which order."""

from __future__ import annotations

from pathlib import Path

from ophora_data.transcripts.load import language_from_name, transcript_candidates

FORMATS = ("json", "vtt", "srt")


def _touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_order_is_transcripts_dir_then_sidecar_then_downloaded_subtitles(tmp_path: Path) -> None:
    given, media, raw = tmp_path / "given", tmp_path / "media", tmp_path / "raw"
    _touch(given / "vid1.srt", given / "vid1.json", media / "case.vtt", media / "case.json",
           media / "case.en.vtt", media / "case.info.json", raw / "vid1.de.vtt", raw / "vid1.en.vtt")
    found = transcript_candidates("vid1", transcripts_dir=str(given), local_path=str(media / "case.mp4"),
                                  subtitles=[str(raw / "vid1.de.vtt"), str(raw / "vid1.en.vtt")],
                                  formats=FORMATS, languages=("en",))
    names = [p.relative_to(tmp_path).as_posix() for p in found]
    assert names == ["given/vid1.json", "given/vid1.srt", "media/case.json", "media/case.vtt",
                     "media/case.en.vtt", "raw/vid1.en.vtt", "raw/vid1.de.vtt"]


def test_formats_filter_and_missing_places(tmp_path: Path) -> None:
    _touch(tmp_path / "case.json", tmp_path / "case.srt")
    found = transcript_candidates("x", transcripts_dir=None, local_path=str(tmp_path / "case.mp4"),
                                  subtitles=[str(tmp_path / "gone.en.vtt")], formats=("srt",), languages=())
    assert [p.name for p in found] == ["case.srt"]
    assert transcript_candidates("x", transcripts_dir=str(tmp_path / "nope"), local_path=None, subtitles=[],
                                 formats=FORMATS, languages=()) == []


def test_language_from_yt_dlp_names() -> None:
    assert language_from_name(Path("abc.en.vtt")) == "en"
    assert language_from_name(Path("abc.en-US.vtt")) == "en"
    assert language_from_name(Path("abc.vtt")) is None
    assert language_from_name(Path("abc.info.json")) is None
