from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class ProbeConfig(Section):
    timeout_s: float = Field(60.0, gt=0)
    hash_files: bool = Field(True, description="record sha256 of every probed file")
