"""yt-dlp parameters from the `download` config section (format choice, politeness, subtitles)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ophora_data.config import stable_hash
from ophora_data.config.download import DownloadConfig

# yt-dlp writes `video.<ext>` (and `video.<lang>.vtt`) inside a per-video temp folder; the
# stage renames the verified result to media/raw/<video_id>.mp4.
OUTPUT_STEM = "video"


def format_selector(cfg: DownloadConfig) -> str:
    """Best video at or above the minimum size, merged with the best audio.

    `>=?` lets formats of unknown size through (direct file URLs carry no dimensions):
    those are checked after the download by probe, and clips by the `quality` stage.
    """
    if cfg.format:
        return cfg.format
    size = f"[height>=?{cfg.min_height}][width>=?{cfg.min_width}]"
    choice = f"bv*{size}+ba/b{size}"
    return choice if cfg.require_audio else f"{choice}/bv*{size}"


def format_sort(cfg: DownloadConfig) -> list[str]:
    """Prefer the largest height <= max_height, mp4/m4a (no re-encode to merge), then H.264."""
    return [f"res:{cfg.max_height}", "ext:mp4:m4a", "vcodec:h264"]


def fetch_signature(cfg: DownloadConfig) -> str:
    """What decides which bytes a download yields; an archived file is reused only when it matches.

    Politeness keys (rate limit, cookies, retries) are left out: changing them re-fetches nothing.
    """
    subtitles = [cfg.auto_subtitles, list(cfg.subtitle_langs)] if cfg.subtitles else None
    return stable_hash({"format": format_selector(cfg), "sort": format_sort(cfg), "subtitles": subtitles})


def postprocessors(subtitles: bool) -> list[dict[str, Any]]:
    """Always an mp4 container (media/raw/<id>.mp4); subtitles converted to VTT."""
    steps: list[dict[str, Any]] = [{"key": "FFmpegVideoRemuxer", "preferedformat": "mp4"}]
    if subtitles:
        steps.append({"key": "FFmpegSubtitlesConvertor", "format": "vtt", "when": "before_dl"})
    return steps


def ytdlp_params(
    cfg: DownloadConfig,
    out_dir: Path,
    *,
    logger: Any,
    progress_hook: Callable[[dict[str, Any]], None] | None = None,
    retry_sleep: Callable[..., float] | None = None,
    cookiefile: str | None = None,
    subtitles: bool | None = None,
) -> dict[str, Any]:
    """The YoutubeDL params for one download into `out_dir`."""
    want_subs = cfg.subtitles if subtitles is None else subtitles
    sleeps = {"http": retry_sleep, "fragment": retry_sleep} if retry_sleep else {}
    return {
        "format": format_selector(cfg),
        "format_sort": format_sort(cfg),
        "merge_output_format": "mp4",
        "postprocessors": postprocessors(want_subs),
        "paths": {"home": str(out_dir), "temp": str(out_dir)},
        "outtmpl": {"default": f"{OUTPUT_STEM}.%(ext)s"},
        "writesubtitles": want_subs,
        "writeautomaticsub": want_subs and cfg.auto_subtitles,
        "subtitleslangs": list(cfg.subtitle_langs),
        "subtitlesformat": "vtt/best",
        # Resume a `.part` left by a killed run; never keep an incomplete fragment stream.
        "continuedl": True,
        "nopart": False,
        "skip_unavailable_fragments": False,
        "noplaylist": True,
        "socket_timeout": cfg.socket_timeout_s,
        "retries": cfg.retries,
        "fragment_retries": cfg.retries,
        "retry_sleep_functions": sleeps,
        "ratelimit": cfg.rate_limit_bytes,
        "max_filesize": cfg.max_filesize_bytes,
        "cookiefile": cookiefile,
        # Never `remote_components`: yt-dlp would fetch JavaScript from GitHub/npm at run time.
        "js_runtimes": {name: {} for name in cfg.js_runtimes},
        # A library call: no console output, no cache in the home folder, errors raise.
        "quiet": True,
        "noprogress": True,
        "no_warnings": False,
        "logger": logger,
        "progress_hooks": [progress_hook] if progress_hook else [],
        "cachedir": False,
        "consoletitle": False,
        "updatetime": False,
        "ignoreerrors": False,
    }
