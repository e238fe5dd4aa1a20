from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Section


class CutConfig(Section):
    crf: int = Field(20, ge=0, le=51)
    preset: str = "veryfast"
    max_height: int = Field(1080, ge=16, description="downscale taller sources to this height")
    audio: bool = Field(False, description="keep the narration audio in clips")
    strategy: Literal["auto", "seek", "single_pass"] = "auto"
    single_pass_coverage: float = Field(
        0.6, ge=0, le=1, description="auto uses one pass when windows cover at least this share"
    )
    timeout_s: float = Field(600.0, gt=0)
