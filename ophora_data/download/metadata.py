"""The per-video metadata kept from yt-dlp's info dict: named fields only, never headers or cookies."""

from __future__ import annotations

from typing import Any

from ophora_data.download.scrub import scrub_url


def iso_date(yyyymmdd: str | None) -> str | None:
    """yt-dlp's '20240131' -> '2024-01-31'."""
    if not yyyymmdd or len(yyyymmdd) != 8 or not yyyymmdd.isdigit():
        return None
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def ytdlp_version() -> str | None:
    try:
        from yt_dlp.version import __version__
    except ImportError:
        return None
    return str(__version__)


def video_metadata(info: dict[str, Any]) -> dict[str, Any]:
    """Whitelisted fields: yt-dlp's info dict also holds request headers (cookies) and signed URLs."""
    duration = info.get("duration")
    page = info.get("webpage_url") or info.get("original_url")
    return {
        "title": info.get("title"),
        "channel": info.get("channel") or info.get("uploader"),
        "channel_id": info.get("channel_id") or info.get("uploader_id"),
        "upload_date": iso_date(info.get("upload_date")),
        "duration": float(duration) if isinstance(duration, int | float) and duration > 0 else None,
        "license": info.get("license"),
        "webpage_url": scrub_url(page) if page else None,
        "extractor": info.get("extractor_key") or info.get("extractor"),
        "platform_id": info.get("id"),
        "format_id": info.get("format_id"),
        "ytdlp_version": ytdlp_version(),
    }
