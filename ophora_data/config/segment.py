from __future__ import annotations

from pydantic import Field, model_validator

from ophora_data.config.base import Section


class SegmentConfig(Section):
    min_s: float = Field(2.0, gt=0, description="shortest clip window (padded), seconds")
    max_s: float = Field(10.0, gt=0, description="longest clip window (padded), seconds")
    pad_s: float = Field(0.1, ge=0, description="padding each side; never reaches into a neighbouring word")
    silence_split_s: float = Field(1.5, gt=0, description="a pause this long always ends a window")
    spacy_model: str | None = Field(None, description="None = blank English pipeline + sentencizer")

    @model_validator(mode="after")
    def _ordered(self) -> SegmentConfig:
        if self.min_s > self.max_s:
            raise ValueError(f"min_s ({self.min_s}) is greater than max_s ({self.max_s})")
        return self
