"""`download` end to end against a real HTTP server on 127.0.0.1 (yt-dlp's generic extractor).

No test reaches the internet: every test runs under `loopback_only`, which refuses and
records any DNS lookup or connection that is not to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ophora_data.config import Config
from ophora_data.download.archive import ARCHIVE_NAME
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.executors.result import StageResult
from ophora_data.media.probe import probe_file
from ophora_data.run.db import RunDB
from ophora_data.run.ids import file_content_hash, generic_url_id
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import StageError
from ophora_data.stages.download import DownloadStage
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from ophora_data.stages.registry import stage_config_hash
from tests.conftest import MakeVideo, make_config
from tests.helpers.http_server import FileServer, loopback_only

REPO = Path(__file__).resolve().parents[2]
FAST = ["download.backoff_base_s=0.01", "download.backoff_max_s=5", "run.flush_every=1"]


@pytest.fixture(autouse=True)
def no_internet() -> Iterator[list[str]]:
    with loopback_only() as attempts:
        yield attempts
    assert not attempts, f"download tried to reach the network: {attempts}"


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as running:
        yield running


@pytest.fixture
def source(make_video: MakeVideo) -> Path:
    return make_video("source.mp4", duration=2.0)


def cfg(*overrides: str) -> Config:
    return make_config(*FAST, *overrides)


def ingest(run: RunDir, config: Config, *sources: str) -> None:
    run_stage(IngestStage(config, run, list(sources)), RunOptions(progress=False))


def download(run: RunDir, config: Config, **options: Any) -> StageResult:
    return run_stage(DownloadStage(config, run), RunOptions(progress=False, **options))


def current(run: RunDir, config: Config) -> dict[str, dict[str, Any]]:
    rows = run.table("download").current("video_id", stage_config_hash(DownloadStage, config))
    return {row["video_id"]: row for row in rows}


def assert_absent(secret: bytes, *folders: Path) -> None:
    for folder in folders:
        for file in folder.rglob("*"):
            assert not file.is_file() or secret not in file.read_bytes(), file


def files_of(run: RunDir, video_id: str) -> list[Path]:
    return sorted(p for p in run.raw_dir.rglob("*") if video_id in str(p.relative_to(run.raw_dir)))


def test_success_downloads_verifies_and_records_metadata(run_dir: RunDir, server: FileServer, source: Path) -> None:
    url = server.add("/videos/phaco.mp4", source) + "?token=s3cr3t-t0ken-value"
    config = cfg()
    ingest(run_dir, config, url)
    result = download(run_dir, config)
    video_id = generic_url_id(url)
    row = current(run_dir, config)[video_id]
    assert result.as_dict()["ok"] == 1 and row["status"] == "ok", row["reason"]
    path = run_dir.raw_video(video_id)
    assert row["path"] == str(path) and file_content_hash(path) == file_content_hash(source)
    assert row["bytes"] == source.stat().st_size and row["subtitles"] == []
    assert row["title"] == "phaco" and row["ytdlp_version"] and row["extractor"] == "Generic"
    assert abs(row["duration"] - 2.0) < 0.2 and row["attempts"] == 1
    assert probe_file(path)["has_audio"]
    # The URL's token (ingest keeps the URL it was given) never reaches download's table or files.
    assert row["webpage_url"].endswith("token=***")
    assert_absent(b"s3cr3t-t0ken-value", run_dir.table("download").dir, run_dir.raw_dir)
    assert not (run_dir.raw_dir / ".partial" / video_id).exists()


def test_404_is_a_permanent_failure_retried_only_on_request(run_dir: RunDir, server: FileServer) -> None:
    url = server.url("/gone.mp4")
    config = cfg()
    ingest(run_dir, config, url)
    download(run_dir, config)
    row = current(run_dir, config)[generic_url_id(url)]
    assert (row["status"], row["reason"], row["retryable"]) == ("failed", "not found (HTTP 404)", False)
    assert server.count("/gone.mp4") == 1  # no backoff loop on a permanent error
    download(run_dir, config)
    assert server.count("/gone.mp4") == 1  # the next run leaves it alone
    download(run_dir, config, retry_failed=True)
    assert server.count("/gone.mp4") == 2
    assert files_of(run_dir, generic_url_id(url)) == []


def test_429_then_success_honours_retry_after(run_dir: RunDir, server: FileServer, source: Path) -> None:
    url = server.add("/busy.mp4", source)
    server.fail("/busy.mp4", 429, times=1, headers={"Retry-After": "1"})
    config = cfg()
    ingest(run_dir, config, url)
    download(run_dir, config)
    row = current(run_dir, config)[generic_url_id(url)]
    assert row["status"] == "ok" and row["attempts"] == 2
    assert row["retries"] and "rate limited (HTTP 429)" in row["retries"][0]
    log = server.log("/busy.mp4")
    assert log[0].status == 429 and log[1].status == 200
    assert log[1].time - log[0].time >= 0.95  # waited for Retry-After, not just the 10 ms backoff


def test_persistent_5xx_gives_up_as_retryable(run_dir: RunDir, server: FileServer, source: Path) -> None:
    url = server.add("/flaky.mp4", source)
    server.fail("/flaky.mp4", 503, times=50)
    config = cfg("download.retries=2")
    ingest(run_dir, config, url)
    download(run_dir, config)
    row = current(run_dir, config)[generic_url_id(url)]
    assert row["status"] == "failed" and row["retryable"] is True
    assert row["reason"].startswith("server error (HTTP 503)") and "gave up after 3 attempts" in row["reason"]
    assert server.count("/flaky.mp4") == 3
    server.resources["/flaky.mp4"].errors.clear()
    download(run_dir, config)  # transient failures are retried by the next plain run
    assert current(run_dir, config)[generic_url_id(url)]["status"] == "ok"


def test_truncated_file_fails_probe_and_leaves_no_file(run_dir: RunDir, server: FileServer, source: Path) -> None:
    url = server.add("/cut.mp4", source)
    server.truncate("/cut.mp4", source.stat().st_size // 2)
    config = cfg()
    ingest(run_dir, config, url)
    download(run_dir, config)
    video_id = generic_url_id(url)
    row = current(run_dir, config)[video_id]
    assert row["status"] == "failed" and row["retryable"] is False
    assert "truncated" in row["reason"]
    assert files_of(run_dir, video_id) == []


def test_rerun_downloads_nothing_new(run_dir: RunDir, server: FileServer, source: Path, tmp_path: Path) -> None:
    urls = [server.add(f"/v{i}.mp4", source) for i in range(3)]
    config = cfg("download.concurrency=3")
    ingest(run_dir, config, *urls)
    first = download(run_dir, config)
    assert first.as_dict()["ok"] == 3
    requests = server.count()
    second = download(run_dir, config)
    assert second.as_dict()["skipped_done"] == 3 and second.processed == 0
    assert server.count() == requests
    # Politeness is not part of the config hash: nothing to redo.
    polite = download(run_dir, cfg("download.concurrency=3", "download.rate_limit=5M"))
    assert polite.processed == 0 and server.count() == requests
    # A new limit is a new config hash: every row is redone, but the archive spares the network.
    changed = cfg("download.concurrency=3", "download.max_filesize_mb=2048")
    third = download(run_dir, changed)
    assert third.as_dict()["ok"] == 3 and server.count() == requests
    assert {row["reused"] for row in current(run_dir, changed).values()} == {"archive"}
    records = (run_dir.raw_dir / ARCHIVE_NAME).read_text().splitlines()
    assert len(records) == 3 and len(list(run_dir.raw_dir.glob("*.mp4"))) == 3


KILLABLE = (
    "import sys\n"
    "from tests.helpers.http_server import loopback_only\n"
    "with loopback_only():\n"
    "    import cli\n"
    "    cli.app(sys.argv[1:], standalone_mode=True)\n"
)


def test_kill_during_download_then_rerun_completes(run_dir: RunDir, server: FileServer, make_video: MakeVideo) -> None:
    source = make_video("long.mp4", duration=4.0, size="320x240")
    url = server.add("/long.mp4", source)
    server.throttle("/long.mp4", 64 * 1024)
    config = cfg()
    run_dir.save_config(config)
    ingest(run_dir, config, url)
    video_id = generic_url_id(url)
    partial = run_dir.raw_dir / ".partial" / video_id
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-c", KILLABLE, "download", "-w", str(run_dir.root)]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while sum(p.stat().st_size for p in partial.glob("*.part")) < 48 * 1024:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert not run_dir.raw_video(video_id).exists()
    assert current(run_dir, config) == {}
    kept = sum(p.stat().st_size for p in partial.glob("*.part"))
    server.throttle("/long.mp4", None)
    before = len(server.log("/long.mp4"))
    result = download(run_dir, config)
    assert result.as_dict()["ok"] == 1
    # The rerun resumed the kept .part with a Range request instead of starting over.
    ranges = [r.headers.get("Range") for r in server.log("/long.mp4")[before:]]
    assert f"bytes={kept}-" in ranges
    assert file_content_hash(run_dir.raw_video(video_id)) == file_content_hash(source)
    rows = [r for r in run_dir.table("download").all_rows() if r["video_id"] == video_id]
    assert [r["status"] for r in rows] == ["ok"]
    assert files_of(run_dir, video_id) == [run_dir.raw_video(video_id)]
    requests = server.count()
    download(run_dir, config)
    assert server.count() == requests


def test_local_sources_are_linked_and_probe_uses_them(run_dir: RunDir, server: FileServer, source: Path) -> None:
    config = cfg()
    ingest(run_dir, config, str(source))
    download(run_dir, config)
    (row,) = current(run_dir, config).values()
    raw = run_dir.raw_video(row["video_id"])
    assert row["status"] == "ok" and row["link_mode"] == "hardlink" and raw.samefile(source)
    assert server.count() == 0
    probe = ProbeStage(config, run_dir)
    assert [item["path"] for item in probe.items()] == [str(raw)]


def test_local_copy_mode_and_changed_file(run_dir: RunDir, source: Path) -> None:
    config = cfg("download.link_local=false")
    ingest(run_dir, config, str(source))
    download(run_dir, config)
    (row,) = current(run_dir, config).values()
    raw = run_dir.raw_video(row["video_id"])
    assert row["link_mode"] == "copy" and not raw.samefile(source) and raw.read_bytes() == source.read_bytes()
    raw.unlink()
    with open(source, "ab") as handle:  # edited after ingest: its content id is now wrong
        handle.write(b"x")
    download(run_dir, config, overwrite=True)
    (row,) = current(run_dir, config).values()
    assert row["status"] == "failed" and "changed since ingest" in row["reason"] and not raw.exists()


def add_page_with_subtitles(server: FileServer, source: Path) -> str:
    """An HTML5 page with a <video> and an English <track>: yt-dlp's html5 extractor reads both."""
    server.add("/media/clip.mp4", source)
    server.add("/media/clip.en.vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nincision\n", "text/vtt")
    page = (
        "<html><head><title>Phaco step by step</title></head><body><video controls>"
        '<source src="clip.mp4" type="video/mp4">'
        '<track kind="subtitles" src="clip.en.vtt" srclang="en" label="English"></video></body></html>'
    )
    return server.add("/media/page.html", page.encode(), "text/html")


def test_subtitles_are_fetched_beside_the_video(run_dir: RunDir, server: FileServer, source: Path) -> None:
    url = add_page_with_subtitles(server, source)
    config = cfg("download.subtitles=true")
    ingest(run_dir, config, url)
    download(run_dir, config)
    row = current(run_dir, config)[generic_url_id(url)]
    assert row["status"] == "ok" and row["title"].startswith("Phaco step by step")
    (subtitle,) = row["subtitles"]
    assert subtitle == str(run_dir.raw_dir / f"{row['video_id']}.en.vtt")
    assert "incision" in Path(subtitle).read_text()


def test_archive_reuse_follows_the_fetch_options_and_todays_limits(
    run_dir: RunDir, server: FileServer, source: Path
) -> None:
    url = add_page_with_subtitles(server, source)
    video_id = generic_url_id(url)
    plain = cfg()
    ingest(run_dir, plain, url)
    download(run_dir, plain)
    assert current(run_dir, plain)[video_id]["subtitles"] == []
    # Subtitles wanted now: the archived file was fetched without them, so it is fetched again.
    with_subs = cfg("download.subtitles=true")
    before = server.count()
    download(run_dir, with_subs)
    assert server.count() > before and len(current(run_dir, with_subs)[video_id]["subtitles"]) == 1
    # Only a limit changed (a new hash, same fetch options): reused, subtitles included, no request.
    relimited = cfg("download.subtitles=true", "download.max_filesize_mb=2048", "download.concurrency=4")
    before = server.count()
    download(run_dir, relimited)
    row = current(run_dir, relimited)[video_id]
    assert server.count() == before and row["reused"] == "archive" and len(row["subtitles"]) == 1
    # A tighter limit rejects the archived file and removes it, still without a request.
    strict = cfg("download.subtitles=true", "download.max_duration_s=1")
    download(run_dir, strict)
    row = current(run_dir, strict)[video_id]
    assert row["status"] == "rejected" and row["reason"].startswith("longer than max_duration_s")
    assert server.count() == before and not run_dir.raw_video(video_id).exists()


def test_limits_reject_and_remove_the_file(
    run_dir: RunDir, server: FileServer, source: Path, make_video: MakeVideo
) -> None:
    long_url = server.add("/long.mp4", source)
    silent_url = server.add("/silent.mp4", make_video("silent.mp4", duration=1.0, audio=False))
    config = cfg("download.max_duration_s=1")
    ingest(run_dir, config, long_url, silent_url)
    download(run_dir, config)
    rows = current(run_dir, config)
    too_long, silent = rows[generic_url_id(long_url)], rows[generic_url_id(silent_url)]
    assert too_long["status"] == "rejected" and too_long["reason"].startswith("longer than max_duration_s")
    assert silent["status"] == "rejected" and silent["reason"] == "no audio stream (narration required)"
    assert not list(run_dir.raw_dir.glob("*.mp4"))


def test_max_filesize_rejects_from_content_length(run_dir: RunDir, server: FileServer, source: Path) -> None:
    url = server.add("/big.mp4", source)
    config = cfg("download.max_filesize_mb=0.05")
    ingest(run_dir, config, url)
    download(run_dir, config)
    row = current(run_dir, config)[generic_url_id(url)]
    assert row["status"] == "rejected" and row["reason"].startswith("larger than max_filesize_mb")
    assert files_of(run_dir, generic_url_id(url)) == []


def test_cookies_file_is_used_but_never_stored(
    run_dir: RunDir, server: FileServer, source: Path, tmp_path: Path
) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tSID\tcookie-secret-42\n")
    original = cookies.read_bytes()
    url = server.add("/members.mp4", source)
    config = cfg(f"download.cookies_file={cookies}")
    ingest(run_dir, config, url)
    download(run_dir, config)
    assert current(run_dir, config)[generic_url_id(url)]["status"] == "ok"
    assert any("cookie-secret-42" in (r.headers.get("Cookie") or "") for r in server.log("/members.mp4"))
    assert cookies.read_bytes() == original  # yt-dlp saved its jar to a private copy
    assert_absent(b"cookie-secret-42", run_dir.root)


def test_missing_cookies_file_stops_the_stage(run_dir: RunDir, tmp_path: Path) -> None:
    stage = DownloadStage(cfg(f"download.cookies_file={tmp_path / 'none.txt'}"), run_dir)
    with pytest.raises(StageError, match="cookies_file does not exist"):
        stage.setup()


def test_status_figures_count_bytes_and_failures(run_dir: RunDir, server: FileServer, source: Path) -> None:
    config = cfg()
    ingest(run_dir, config, server.add("/a.mp4", source), server.url("/missing.mp4"), str(source))
    stage = DownloadStage(config, run_dir)
    run_stage(stage, RunOptions(progress=False))
    assert stage.summary().startswith("download: 1 downloaded, 1 failed (permanent), 1 linked; 0.2 MiB")
    extras = stage.status_figures(RunDB(run_dir, config))
    assert extras["bytes"] == 2 * source.stat().st_size and extras["linked_local"] == 1
    assert (extras["failed_permanent"], extras["failed_retryable"]) == (1, 0)
    assert json.dumps(extras)


def test_youtube_source_offline_fails_cleanly_and_stays_retryable(run_dir: RunDir, no_internet: list[str]) -> None:
    config = cfg("download.retries=0")
    ingest(run_dir, config, "https://youtu.be/X3jTUYMflCk")
    result = download(run_dir, config)
    row = current(run_dir, config)["X3jTUYMflCk"]
    assert result.as_dict()["failed"] == 1 and row["retryable"] is True, row["reason"]
    assert row["reason"].startswith("network error")
    assert not run_dir.raw_video("X3jTUYMflCk").exists()
    assert [p for p in files_of(run_dir, "X3jTUYMflCk") if p.is_file()] == []  # not even a `.part`
    assert no_internet and all("youtube" in attempt for attempt in no_internet)  # refused by the guard
    no_internet.clear()


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("surgical/cataract1k_case4687_capsulorhexis_52.50-57.50s_224px.mp4", (224, 224)),
        ("nonsurgical/people_silent_film_moviepy_chaplin.mp4", (640, 360)),
    ],
)
def test_real_videos_download_intact(
    run_dir: RunDir, server: FileServer, realdata: Path, name: str, size: tuple[int, int]
) -> None:
    source = realdata / name
    url = server.add("/real/" + source.name, source)
    config = cfg("download.require_audio=false")
    ingest(run_dir, config, url)
    download(run_dir, config)
    row = current(run_dir, config)[generic_url_id(url)]
    assert row["status"] == "ok", row["reason"]
    assert (row["width"], row["height"]) == size
    assert file_content_hash(Path(row["path"])) == file_content_hash(source)
