from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class SegmentConfig(Section):
    min_s: float = Field(2.0, gt=0)
    max_s: float = Field(10.0, gt=0)
    pad_s: float = Field(0.1, ge=0)
    silence_split_s: float = Field(1.5, gt=0, description="a pause this long always ends a window")
    spacy_model: str | None = Field(None, description="None = blank English pipeline + sentencizer")
