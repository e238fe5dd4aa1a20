"""The one place that drives yt_dlp.YoutubeDL: extract, check limits, download into a folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ophora_data.config.download import DownloadConfig
from ophora_data.download.errors import DownloadFailure, Failure, LimitExceeded
from ophora_data.download.limits import limit_reason
from ophora_data.download.options import OUTPUT_STEM, ytdlp_params
from ophora_data.download.scrub import scrub_text

_SUBTITLE_ERROR = "unable to download video subtitles"


class CollectingLogger:
    """yt-dlp's logger interface; keeps recent scrubbed messages instead of printing them."""

    def __init__(self, keep: int = 50) -> None:
        self.keep = keep
        self.messages: list[str] = []

    def _add(self, level: str, message: str) -> None:
        self.messages = [*self.messages[-(self.keep - 1) :], f"{level}: {scrub_text(message.strip())}"]

    def debug(self, message: str) -> None:
        self._add("debug", message)

    def info(self, message: str) -> None:
        self._add("info", message)

    def warning(self, message: str) -> None:
        self._add("warning", message)

    def error(self, message: str) -> None:
        self._add("error", message)

    def saw(self, needle: str) -> bool:
        return any(needle in message.lower() for message in self.messages)


@dataclass
class Fetched:
    info: dict[str, Any]
    video: Path
    subtitles: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def require_ytdlp() -> None:
    try:
        import yt_dlp  # noqa: F401
    except ImportError as exc:
        reason = "yt-dlp is not installed: pip install 'ophora-data[download]'"
        raise DownloadFailure(Failure("unknown", reason)) from exc


@contextmanager
def private_cookie_copy(cookies_file: str | None) -> Iterator[str | None]:
    """yt-dlp rewrites its cookie file on close; give it a private 0600 copy, deleted after.

    That keeps the user's file untouched, avoids concurrent downloads writing one file, and
    never places cookies inside the run directory.
    """
    if not cookies_file:
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="ophora-cookies-", suffix=".txt")
    os.close(fd)
    try:
        os.chmod(name, 0o600)
        shutil.copyfile(Path(cookies_file).expanduser(), name)
        yield name
    finally:
        Path(name).unlink(missing_ok=True)


def check_limits(info: dict[str, Any], cfg: DownloadConfig) -> None:
    """Reject before downloading when the extractor already knows the duration or size."""
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise DownloadFailure(Failure("permanent", "live or upcoming stream (not a finished video)"))
    duration = info.get("duration")
    formats = info.get("requested_formats") or [info]
    sizes = [f.get("filesize") or f.get("filesize_approx") for f in formats]
    reason = limit_reason(
        duration if isinstance(duration, int | float) else None, sum(sizes) if all(sizes) else None, cfg
    )
    if reason:
        raise LimitExceeded(reason)


class YtDlpFetcher:
    """Downloads one URL into a folder; raises the original yt-dlp errors for classification."""

    def __init__(
        self,
        cfg: DownloadConfig,
        progress_hook: Callable[[dict[str, Any]], None] | None = None,
        retry_sleep: Callable[..., float] | None = None,
    ) -> None:
        self.cfg = cfg
        self.progress_hook = progress_hook
        self.retry_sleep = retry_sleep

    def fetch(self, url: str, out_dir: Path) -> Fetched:
        require_ytdlp()
        from yt_dlp.utils import DownloadError

        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            return self._fetch(url, out_dir, self.cfg.subtitles)
        except DownloadError as exc:
            # A missing subtitle track must not cost the video: fetch it without subtitles.
            if not (self.cfg.subtitles and _SUBTITLE_ERROR in str(exc).lower()):
                raise
        fetched = self._fetch(url, out_dir, False)
        fetched.warnings.append("subtitles could not be downloaded")
        return fetched

    def _fetch(self, url: str, out_dir: Path, subtitles: bool) -> Fetched:
        import yt_dlp

        logger = CollectingLogger()
        with private_cookie_copy(self.cfg.cookies_file) as cookiefile:
            params = ytdlp_params(
                self.cfg, out_dir, logger=logger, progress_hook=self.progress_hook,
                retry_sleep=self.retry_sleep, cookiefile=cookiefile, subtitles=subtitles,
            )  # fmt: skip
            with yt_dlp.YoutubeDL(params) as ydl:
                info = ydl.extract_info(url, download=False)
                if info.get("_type") in ("playlist", "multi_video"):
                    count = len(list(info.get("entries") or []))
                    reason = f"URL holds {count} videos (a playlist or page): list the videos one by one"
                    raise DownloadFailure(Failure("permanent", reason))
                check_limits(info, self.cfg)
                info = ydl.process_ie_result(info, download=True)
        video = out_dir / f"{OUTPUT_STEM}.mp4"
        if not video.is_file():
            if logger.saw("larger than max-filesize"):
                raise LimitExceeded(f"larger than max_filesize_mb ({self.cfg.max_filesize_mb} MB)")
            raise DownloadFailure(Failure("unknown", "yt-dlp finished without producing a video file"))
        return Fetched(info=info, video=video, subtitles=_subtitle_files(info))


def _subtitle_files(info: dict[str, Any]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for lang, sub in (info.get("requested_subtitles") or {}).items():
        path = Path(sub.get("filepath") or "")
        if sub.get("filepath") and path.is_file():
            found[lang] = path
    return found
