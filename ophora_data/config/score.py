from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Bound, Section


class ScoreConfig(Section):
    """OphCLIP-style scoring (`score` stage); each Bound is named like the check it bounds."""

    enabled: bool = Field(True, description="False records score as skipped, with the reason")
    model: str = Field("ViT-B-16", description="open_clip architecture, hf-hub:/local-dir: id, or model-config JSON")
    pretrained: str | None = Field(None, description="pretrained tag or local checkpoint; None = no weights (skipped)")
    frames: int = Field(8, ge=1, description="frames sampled uniformly per clip")
    batch_size: int = Field(64, ge=1, description="frames (and texts) per model forward pass")
    device: str = Field("auto", pattern="^(auto|cpu|cuda)$", description="auto: cuda when available; fp16 on GPU")
    prefetch: int = Field(4, ge=1, description="clips decoded ahead of the model (bounded queue)")
    decode_workers: int = Field(2, ge=1, description="CPU threads decoding and preprocessing frames")
    positive_prompts: tuple[str, ...] = Field((
        "a surgical microscope view of an eye operation",
        "an ophthalmic surgery video through the operating microscope",
    ), min_length=1)
    negative_prompts: tuple[str, ...] = Field((
        "a person talking to the camera",
        "a presentation slide with text",
        "an animated diagram",
        "a fundus photograph",
        "an operating room seen from a wall camera",
    ), min_length=1)
    # Mean over frames of the frame-instruction cosine (the max is stored beside it).
    clip_text_similarity: Bound = Bound(min=0.2)
    # Zero-shot probability of the positive prompt set, averaged over frames.
    surgical_content: Bound = Bound(min=0.5)
    # Highest cosine of the clip's mean embedding to any earlier clip (same or other video).
    near_duplicate: Bound = Bound(max=0.97)
