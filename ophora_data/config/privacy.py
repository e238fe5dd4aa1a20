from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Section


class PrivacyConfig(Section):
    mode: Literal["blur", "drop"] = "blur"
    every_n_frames: int = Field(5, ge=1)
    face_detector: Literal["haar", "yunet"] = "haar"
    yunet_model_path: str | None = None
    text_detector: Literal["tesseract", "none"] = "tesseract"
    text_min_confidence: float = Field(60.0, ge=0, le=100)
    blur: Literal["gaussian", "pixelate"] = "gaussian"
    blur_strength: int = Field(31, ge=3)
    box_dilation: float = Field(0.15, ge=0, description="grow boxes by this fraction on every side")
    crf: int = Field(18, ge=0, le=51)
    preset: str = "veryfast"
