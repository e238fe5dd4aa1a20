from __future__ import annotations

from pathlib import Path

from ophora_data.sources.discover import expand

EXTS = (".mp4", ".mkv")
MESSY_LIST_IDS = {
    "-Q4uQ6rEExs",
    "0xUbMicNy-w",
    "2p4V1ZCQneo",
    "2qEe2REdhWw",
    "3wwr5EzC0r4",
    "6aIOKqBA-64",
    "AV2ZRjYKpSA",
    "G4e9vrU1lrc",
    "HPX8EBCVm_s",
    "K2OsUADOtLc",
    "LDhPCHvGxeA",
    "M8c_NoP01_A",
    "O60ZbtRcjik",
    "OZ5SmpNFlU8",
    "PLSKmeAV43M",
    "Q4ez4-t3WhE",
    "QbeI72QmFAU",
    "SrzOrek2PVg",
    "XjZ5r8GZq5Y",
    "Zj0hcokB5Lg",
    "_QXWa7QaEgk",
    "aohAHNYpAOs",
    "if2P7EPOgsY",
    "kD28gc6oqV4",
    "mfQXeuUcJdU",
    "moF1tUd9Flc",
    "n_3cG9oeuNo",
    "oNX7mhHewG0",
    "pVTa7UhsyNc",
    "s9CYeGi7ecs",
    "soJWJtHoplc",
    "uxXRtgQfEFI",
    "vWCCDQgK06U",
    "vfmohnIFMOQ",
    "wtw7m6C9HAw",
    "xHdQYKq1LMs",
    "yaAcqYn-Teo",
}


def test_real_messy_url_list(realdata: Path) -> None:
    entries = list(expand([str(realdata / "text" / "video_pipeline_narrated_cataract_youtube_links.txt")], EXTS))
    videos = [e for e in entries if e.kind == "youtube"]
    rejected = [e for e in entries if e.kind == "rejected"]
    assert {e.video_id for e in videos} == MESSY_LIST_IDS
    assert len(videos) == 41  # before de-duplication: 4 ids appear twice
    assert len(rejected) == 7 and all("playlist" in e.reason for e in rejected)
    assert all(e.origin.startswith("video_pipeline_narrated_cataract_youtube_links.txt:") for e in entries)


def test_bom_csv_with_video_id_column(realdata: Path) -> None:
    entries = list(expand([str(realdata / "text" / "ophnet2024_surgery.csv")], EXTS))
    assert len(entries) == 1969
    # OphNet ids are not YouTube ids, and the table has no url/path: each row says so.
    assert all(e.kind == "rejected" and "no url or path" in e.reason for e in entries)


def test_csv_jsonl_and_text_forms(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("\ufeffURL,title\nhttps://youtu.be/X3jTUYMflCk,one\n,empty\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"video_id": "X3jTUYMflCk"}\nnot json\n{"url": "https://e.org/v.mp4"}\n')
    (tmp_path / "c.txt").write_text("# comment\n\n'https://www.youtube.com/shorts/abcdefghijk', hello\n")
    entries = list(expand([str(tmp_path / n) for n in ("a.csv", "b.jsonl", "c.txt")], EXTS))
    kinds = [(e.kind, e.video_id) for e in entries]
    assert kinds[0] == ("youtube", "X3jTUYMflCk")
    assert kinds[1][0] == "rejected"  # a row with no url/video_id/path
    assert kinds[2] == ("youtube", "X3jTUYMflCk")
    assert entries[3].kind == "rejected" and "invalid JSON" in entries[3].reason
    assert kinds[4][0] == "url" and kinds[4][1].startswith("url-")
    assert kinds[5] == ("youtube", "abcdefghijk")
    assert entries[6].kind == "rejected" and entries[6].raw == "hello"


def test_local_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "videos" / "sub").mkdir(parents=True)
    (tmp_path / "videos" / "b.mp4").write_bytes(b"x")
    (tmp_path / "videos" / "sub" / "a.MKV").write_bytes(b"y")
    (tmp_path / "videos" / "notes.txt").write_text("ignored")
    entries = list(expand([str(tmp_path / "videos"), str(tmp_path / "missing.mp4")], EXTS))
    assert [Path(e.path).name for e in entries if e.kind == "local"] == ["b.mp4", "a.MKV"]
    assert entries[-1].kind == "rejected"
