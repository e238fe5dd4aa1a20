"""The configured limits a video must respect, as one readable reason (None when within limits)."""

from __future__ import annotations

from ophora_data.config.download import DownloadConfig


def limit_reason(duration_s: float | None, size_bytes: float | None, cfg: DownloadConfig) -> str | None:
    """Unknown values pass: they are checked again once the file is on disk."""
    if cfg.max_duration_s and duration_s is not None and duration_s > cfg.max_duration_s:
        return f"longer than max_duration_s ({duration_s:.0f}s > {cfg.max_duration_s:.0f}s)"
    limit = cfg.max_filesize_bytes
    if limit and size_bytes is not None and size_bytes > limit:
        return f"larger than max_filesize_mb ({size_bytes / 2**20:.1f} MB > {cfg.max_filesize_mb} MB)"
    return None
