"""Which files are sources: videos whatever their names, readable lists, and a reason for the rest."""

from __future__ import annotations

import codecs
import subprocess
from pathlib import Path

import pytest

from ophora_data.config.ingest import SKIP_EXTENSIONS, VIDEO_EXTENSIONS
from ophora_data.media.probe import not_video_reason
from ophora_data.sources.discover import expand
from ophora_data.sources.textfile import NotText, read_text, sniff_text
from tests.conftest import MakeVideo

YOUTUBE = "https://youtu.be/X3jTUYMflCk"


def sniffed(calls: list[Path]):
    """The real ffprobe sniffer, recording which files it was asked about."""

    def sniff(path: Path) -> str:
        calls.append(path)
        return not_video_reason(path)

    return sniff


@pytest.fixture
def ts_video(make_video: MakeVideo, tmp_path: Path) -> Path:
    """A real MPEG-TS file (binary: NUL bytes and invalid UTF-8 in its first bytes)."""
    return make_video("surgery.ts", duration=1.0, size="64x48", extra=["-f", "mpegts"])


def test_a_named_ts_file_is_a_video_not_a_url_list(ts_video: Path) -> None:
    [entry] = expand([str(ts_video)], VIDEO_EXTENSIONS, SKIP_EXTENSIONS, sniffed([]))
    assert entry.kind == "local" and entry.path == str(ts_video.resolve())


def test_any_name_is_a_video_when_ffprobe_reads_one(ts_video: Path, tmp_path: Path) -> None:
    odd = tmp_path / "capture.recording"
    odd.write_bytes(ts_video.read_bytes())
    bare = tmp_path / "CASE0042"  # no extension at all, as some recorders write
    bare.write_bytes(ts_video.read_bytes())
    calls: list[Path] = []
    entries = list(expand([str(odd), str(bare)], (".mp4",), SKIP_EXTENSIONS, sniffed(calls)))
    assert [e.kind for e in entries] == ["local", "local"] and calls == [odd, bare]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("junk.bin", b"\x00\xff\xfe garbage \x00" * 200, "neither a video nor a text list"),
        ("photo.jpg", None, "still image"),
        ("tone.m4a", None, "audio-only"),
    ],
)
def test_a_named_file_that_is_no_video_and_no_text_is_a_rejected_entry(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    else:
        source = ["testsrc2=size=64x48:duration=1", "-frames:v", "1"] if name.endswith(".jpg") else [
            "sine=duration=1", "-c:a", "aac"]
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", *source, str(path)], check=True)
    [entry] = expand([str(path)], VIDEO_EXTENSIONS, SKIP_EXTENSIONS, sniffed([]))
    assert entry.kind == "rejected" and reason in entry.reason and "not UTF-8 text" in entry.reason


def test_without_a_sniffer_an_unknown_binary_is_rejected_not_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "clip.dat"
    path.write_bytes(b"\x47\x40\x00\x10" * 1000)  # MPEG-TS sync bytes
    [entry] = expand([str(path)], VIDEO_EXTENSIONS)
    assert entry.kind == "rejected" and "ingest.probe_unknown=false" in entry.reason


def test_folder_scan_takes_every_video_container_and_explains_the_rest(
    tmp_path: Path, ts_video: Path, make_video: MakeVideo
) -> None:
    folder = tmp_path / "or"
    (folder / "day2" / ".thumbnails").mkdir(parents=True)
    data = ts_video.read_bytes()
    for name in ("a.ts", "day2/b.MTS", "day2/c.m2ts", "d.mpg", "e.MXF", "f.flv", "g.3gp", "h.wmv"):
        (folder / name).write_bytes(data)  # the extension decides: taken without probing
    (folder / "day2" / "weird.cap").write_bytes(data)  # unknown extension, but a video
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")  # a known non-video: passed over
    (folder / "a.json").write_text("{}")  # a transcript sidecar: passed over
    (folder / "day2" / ".thumbnails" / "x.bin").write_bytes(data)  # hidden: passed over
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "README").write_text("videos of day 1 and 2\n")  # unknown and not a video: a reason
    calls: list[Path] = []
    entries = list(expand([str(folder)], VIDEO_EXTENSIONS, SKIP_EXTENSIONS, sniffed(calls)))
    local = sorted(Path(e.path).name for e in entries if e.kind == "local")
    assert local == ["a.ts", "b.MTS", "c.m2ts", "d.mpg", "e.MXF", "f.flv", "g.3gp", "h.wmv", "weird.cap"]
    [rejected] = [e for e in entries if e.kind == "rejected"]
    assert rejected.raw.endswith("README") and "not a media file" in rejected.reason
    assert sorted(p.name for p in calls) == ["README", "weird.cap"]  # only unknown extensions are probed
    assert all(e.origin == str(folder) for e in entries)


def test_lists_in_other_encodings(tmp_path: Path) -> None:
    utf16 = tmp_path / "excel_unicode.txt"
    utf16.write_bytes(codecs.BOM_UTF16_LE + f"{YOUTUBE}\n".encode("utf-16-le"))
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("url,title\nhttps://youtu.be/X3jTUYMflCk,Phaco caf\xe9\n".encode("latin-1"))
    entries = list(expand([str(utf16), str(latin)], VIDEO_EXTENSIONS))
    assert entries[0].kind == "youtube" and entries[0].video_id == "X3jTUYMflCk"
    assert entries[1].kind == "rejected" and "not UTF-8 text (byte 0xe9" in entries[1].reason
    assert "save the list as UTF-8" in entries[1].reason


def test_text_sniffing_reads_only_the_start_and_reports_why(tmp_path: Path) -> None:
    text = tmp_path / "list.txt"
    text.write_text("é" * 40_000)  # a two-byte character is split at the 64 KiB cut: still text
    assert sniff_text(text) == ""
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"https://youtu.be/X3jTUYMflCk\x00\n")
    assert "NUL" in sniff_text(nul)
    with pytest.raises(NotText, match="NUL"):
        read_text(nul)


def test_unreadable_list_is_a_rejected_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(YOUTUBE)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    [entry] = expand([str(listing)], VIDEO_EXTENSIONS)
    assert entry.kind == "rejected" and "Permission denied" in entry.reason
