from __future__ import annotations

from pathlib import Path

from ophora_data.download.archive import DownloadArchive


def test_record_is_reusable_only_with_its_complete_file(tmp_path: Path) -> None:
    archive = DownloadArchive(tmp_path / ".download-archive.jsonl")
    video = tmp_path / "abc.mp4"
    archive.add({"video_id": "abc", "bytes": 5, "title": "t"})
    assert archive.reusable("abc", video) is None  # record written, file not renamed yet (killed)
    video.write_bytes(b"12345")
    assert archive.reusable("abc", video)["title"] == "t"
    video.write_bytes(b"1234")
    assert archive.reusable("abc", video) is None
    assert archive.reusable("other", video) is None


def test_newest_record_wins_and_torn_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / ".download-archive.jsonl"
    path.write_text('{"video_id": "a", "bytes": 1}\n{"video_id": "b", "by')  # killed mid-line
    archive = DownloadArchive(path)
    archive.add({"video_id": "a", "bytes": 2})
    fresh = DownloadArchive(path).records()
    assert set(fresh) == {"a"} and fresh["a"]["bytes"] == 2
    assert all(line.startswith("{") for line in path.read_text().splitlines())


def test_a_record_from_another_format_choice_is_not_reused(tmp_path: Path) -> None:
    archive = DownloadArchive(tmp_path / ".download-archive.jsonl")
    video = tmp_path / "abc.mp4"
    video.write_bytes(b"12345")
    archive.add({"video_id": "abc", "bytes": 5, "fetch_signature": "sig-1"})
    assert archive.reusable("abc", video, "sig-1") is not None
    assert archive.reusable("abc", video, "sig-2") is None
