from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator

from ophora_data.config.base import Section

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?(?:/s)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_byte_rate(text: str) -> int:
    """'2M' -> 2097152 bytes/s (yt-dlp's --limit-rate syntax: K, M, G are powers of 1024)."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"rate {text!r}: expected a number of bytes/s with an optional K, M or G suffix")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


class DownloadConfig(Section):
    # Politeness and plumbing keys: they change how files are fetched, never which bytes land in
    # media/raw/, so a stage hash that honours HASH_EXCLUDE does not re-run the stage for them.
    HASH_EXCLUDE: ClassVar[frozenset[str]] = frozenset(
        {"concurrency", "rate_limit", "sleep_between_s", "retries", "backoff_base_s", "backoff_max_s",
         "socket_timeout_s", "cookies_file", "js_runtimes", "verify_local_sha256"}
    )  # fmt: skip

    min_width: int = Field(720, ge=0, description="formats narrower than this are not chosen (when known)")
    min_height: int = Field(480, ge=0, description="formats lower than this are not chosen (when known)")
    max_height: int = Field(1080, description="prefer formats at or below this height")
    require_audio: bool = Field(True, description="narration is the point: a file without audio is rejected")
    format: str | None = Field(None, description="a raw yt-dlp format selector; replaces the one built above")
    subtitles: bool = Field(False, description="also fetch uploaded subtitles (VTT) beside the video")
    auto_subtitles: bool = Field(True, description="with `subtitles`: auto-generated ones too")
    subtitle_langs: tuple[str, ...] = ("en", "en-US", "en-GB")
    cookies_file: str | None = Field(None, description="Netscape cookies file for sites that demand sign-in")
    rate_limit: str | None = Field(None, description="bytes/s per download, e.g. '2M'")
    sleep_between_s: float = Field(0.0, ge=0, description="pause between two downloads of one worker")
    concurrency: int = Field(2, ge=1, description="downloads running at the same time (threads)")
    retries: int = Field(4, ge=0, description="extra attempts for transient errors (429, 5xx, timeouts)")
    backoff_base_s: float = Field(2.0, ge=0, description="first retry delay; doubles per attempt, with jitter")
    backoff_max_s: float = Field(120.0, ge=0, description="longest single wait (also caps Retry-After)")
    socket_timeout_s: float = Field(30.0, gt=0)
    max_filesize_mb: float | None = Field(4096, gt=0)
    max_duration_s: float | None = Field(4 * 3600, gt=0)
    js_runtimes: tuple[str, ...] = Field(
        ("deno", "node"), description="JavaScript runtimes yt-dlp may use (YouTube needs one, plus yt-dlp-ejs)"
    )
    link_local: bool = Field(True, description="hard/soft link local sources instead of copying")
    verify_local_sha256: bool = Field(True, description="check a local file still has its ingest sha256")

    @field_validator("rate_limit")
    @classmethod
    def _rate_is_parseable(cls, value: str | None) -> str | None:
        if value is not None:
            parse_byte_rate(value)
        return value

    @property
    def rate_limit_bytes(self) -> int | None:
        return parse_byte_rate(self.rate_limit) if self.rate_limit else None

    @property
    def max_filesize_bytes(self) -> int | None:
        return int(self.max_filesize_mb * 1024 * 1024) if self.max_filesize_mb else None
