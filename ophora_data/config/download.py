from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class DownloadConfig(Section):
    min_width: int = 720
    min_height: int = 480
    max_height: int = Field(1080, description="prefer formats at or below this height")
    require_audio: bool = True
    subtitles: bool = Field(False, description="also fetch uploaded and auto-generated VTT subtitles")
    subtitle_langs: tuple[str, ...] = ("en", "en-US", "en-GB")
    cookies_file: str | None = Field(None, description="Netscape cookies file for sites that demand sign-in")
    rate_limit: str | None = Field(None, description="bytes/s per download, e.g. '2M'")
    sleep_between_s: float = Field(0.0, ge=0, description="pause between two downloads of one worker")
    concurrency: int = Field(2, ge=1)
    retries: int = Field(4, ge=0)
    backoff_base_s: float = Field(2.0, ge=0)
    backoff_max_s: float = Field(120.0, ge=0)
    socket_timeout_s: float = Field(30.0, gt=0)
    max_filesize_mb: float | None = Field(4096, gt=0)
    max_duration_s: float | None = Field(4 * 3600, gt=0)
    link_local: bool = Field(True, description="hard/soft link local sources instead of copying")
