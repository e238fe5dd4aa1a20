from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class BuildConfig(Section):
    shard_size_mb: float = Field(1024.0, gt=0)
    shard_multiple: int = Field(8, ge=1)
    pretty_name: str = "Ophora: ophthalmic surgery video-instruction pairs"
    license: str = "cc-by-nc-4.0"
    gated: bool = True
    verify: bool = True
