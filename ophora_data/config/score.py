from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Bound, Section


class ScoreConfig(Section):
    enabled: bool = Field(True, description="False records score as skipped, with the reason")
    model: str = Field("ViT-B-16", description="open_clip architecture or hf-hub: id")
    pretrained: str | None = Field(None, description="pretrained tag or local checkpoint; None = no weights")
    frames: int = Field(8, ge=1)
    batch_size: int = Field(64, ge=1)
    device: str = Field("auto", pattern="^(auto|cpu|cuda)$")
    prefetch: int = Field(4, ge=1)
    positive_prompts: tuple[str, ...] = (
        "a surgical microscope view of an eye operation",
        "an ophthalmic surgery video through the operating microscope",
    )
    negative_prompts: tuple[str, ...] = (
        "a person talking to the camera",
        "a presentation slide with text",
        "an animated diagram",
        "a fundus photograph",
        "an operating room seen from a wall camera",
    )
    clip_text_similarity: Bound = Bound(min=0.2)
    surgical_content: Bound = Bound(min=0.5)
    near_duplicate_cosine: float = Field(0.97, gt=0, le=1)
