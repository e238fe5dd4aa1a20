"""Fetch one URL source into media/raw/<video_id>.mp4: retry, verify with probe, then rename.

Order matters for kill safety: yt-dlp writes into media/raw/.partial/<video_id>/ (a `.part`
file there is resumed by the next run), the result is probed, subtitles are moved, the
archive record is written, and only then is the video renamed to its final name. A file
under the final name is therefore always complete and verified.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ophora_data.config.download import DownloadConfig
from ophora_data.download.archive import DownloadArchive
from ophora_data.download.backoff import BackoffPolicy, call_with_retries
from ophora_data.download.errors import DownloadFailure, Failure, LimitExceeded
from ophora_data.download.limits import limit_reason
from ophora_data.download.metadata import video_metadata
from ophora_data.download.options import fetch_signature
from ophora_data.download.progress import ByteProgress
from ophora_data.download.subtitles import place_subtitles
from ophora_data.download.ytdlp import Fetched, YtDlpFetcher
from ophora_data.media.probe import probe_file
from ophora_data.media.runner import MediaError
from ophora_data.run.workdir import RunDir

Row = dict[str, Any]
PARTIAL_DIR = ".partial"


@dataclass
class RemoteContext:
    run: RunDir
    cfg: DownloadConfig
    archive: DownloadArchive
    progress: ByteProgress
    probe_timeout_s: float = 60.0

    @property
    def policy(self) -> BackoffPolicy:
        return BackoffPolicy(self.cfg.retries, self.cfg.backoff_base_s, self.cfg.backoff_max_s)

    def partial_dir(self, video_id: str) -> Path:
        return self.run.raw_dir / PARTIAL_DIR / video_id


def failed_row(video_id: str, failure: Failure, **extra: Any) -> Row:
    return {"video_id": video_id, "status": "failed", "reason": failure.reason,
            "retryable": failure.retryable, "error_kind": failure.kind, **extra}  # fmt: skip


def download_remote(item: Row, ctx: RemoteContext) -> Row:
    video_id, url = item["video_id"], item["url"]
    reused = reuse_archived(item, ctx)
    if reused is not None:
        return reused
    work = ctx.partial_dir(video_id)
    retries: list[str] = []
    fetcher = YtDlpFetcher(ctx.cfg, ctx.progress.hook(), retry_sleep=lambda n=0, **_: ctx.policy.delay(n))
    try:
        fetched = call_with_retries(
            lambda: fetcher.fetch(url, work), ctx.policy,
            on_retry=lambda n, failure, wait: retries.append(f"{failure.reason} (waited {wait:.1f}s)"),
        )  # fmt: skip
    except LimitExceeded as exc:
        shutil.rmtree(work, ignore_errors=True)
        ctx.run.raw_video(video_id).unlink(missing_ok=True)  # an older fetch must not outlive a rejection
        return {"video_id": video_id, "status": "rejected", "reason": str(exc), "retryable": False}
    except DownloadFailure as exc:
        # A transient failure keeps its `.part` so the next run resumes instead of starting over.
        if exc.failure.kind != "transient":
            shutil.rmtree(work, ignore_errors=True)
        return failed_row(video_id, exc.failure, attempts=len(retries) + 1, retries=retries)
    finally:
        if ctx.cfg.sleep_between_s:
            time.sleep(ctx.cfg.sleep_between_s)
    try:
        row = verify_and_place(video_id, fetched, ctx)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if row["status"] == "rejected":
        ctx.run.raw_video(video_id).unlink(missing_ok=True)
    return {**row, "source_kind": item.get("source_kind"), "attempts": len(retries) + 1, "retries": retries}


def reuse_archived(item: Row, ctx: RemoteContext) -> Row | None:
    """A verified file from an earlier run (another config hash), re-checked against today's limits."""
    video_id = item["video_id"]
    dest = ctx.run.raw_video(video_id)
    record = ctx.archive.reusable(video_id, dest, fetch_signature(ctx.cfg))
    if record is None:
        return None
    reason = limit_reason(record.get("duration"), record.get("bytes"), ctx.cfg)
    if reason:
        dest.unlink()  # `probe` reads any file in media/raw/: a rejected video must not stay there
        return {"video_id": video_id, "status": "rejected", "reason": reason, "retryable": False}
    subtitles = [path for path in record.get("subtitles") or [] if Path(path).is_file()]
    return {**record, "subtitles": subtitles, "source_kind": item.get("source_kind"), "status": "ok",
            "reason": "", "reused": "archive"}  # fmt: skip


def verify_and_place(video_id: str, fetched: Fetched, ctx: RemoteContext) -> Row:
    """Probe the finished download; reject what the recipe cannot use; rename the rest into place."""
    try:
        meta = probe_file(fetched.video, ctx.probe_timeout_s)
    except MediaError as exc:
        # The same bytes would fail again: only --retry-failed tries a fresh download.
        return failed_row(video_id, Failure("permanent", f"downloaded file is unusable: {exc}"))
    cfg = ctx.cfg
    if cfg.require_audio and not meta["has_audio"]:
        return {"video_id": video_id, "status": "rejected", "reason": "no audio stream (narration required)",
                "retryable": False}  # fmt: skip
    reason = limit_reason(meta["duration_s"], meta["size_bytes"], cfg)
    if reason:
        return {"video_id": video_id, "status": "rejected", "reason": reason, "retryable": False}
    dest = ctx.run.raw_video(video_id)
    info = video_metadata(fetched.info)
    record = {
        "video_id": video_id,
        "path": str(dest),
        **info,
        "duration": info["duration"] or meta["duration_s"],
        "width": meta["width"],
        "height": meta["height"],
        "has_audio": meta["has_audio"],
        "bytes": fetched.video.stat().st_size,
        "subtitles": place_subtitles(fetched.subtitles, ctx.run.raw_dir, video_id),
        "warnings": fetched.warnings,
        "fetch_signature": fetch_signature(cfg),
    }
    ctx.archive.add(record)
    os.replace(fetched.video, dest)
    return {**record, "status": "ok", "reason": "", "reused": None}
