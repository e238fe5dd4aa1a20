from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class IngestConfig(Section):
    video_extensions: tuple[str, ...] = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v")
    local_id_prefix: str = Field("local-", pattern=r"^[A-Za-z0-9_-]*$")
    local_id_hex_chars: int = Field(16, ge=8, le=64)
