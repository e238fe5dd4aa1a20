from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ophora_data.config.base import Section


class TuneConfig(Section):
    """Reference CogVideoX tuning: phase `tpt` (all clips) then `p2ft` (privacy subset)."""

    phase: Literal["tpt", "p2ft"] = "tpt"
    model: str = Field("THUDM/CogVideoX-2b", description="diffusers CogVideoX pipeline: Hub id or local path")
    init_transformer: str | None = Field(
        None, description="start from these transformer weights (p2ft: the tpt output dir or its final/transformer)"
    )
    data: str | None = Field(None, description="release dir, Hub dataset id, or trainer export dir")
    subset: Literal["default", "strict"] = Field("default", description="release config to train on")
    streaming: bool = False
    frames: int = Field(49, ge=1, description="frames per sample; CogVideoX needs 4k+1")
    fps: float = Field(8.0, gt=0)
    height: int = Field(480, ge=16)
    width: int = Field(720, ge=16)
    max_text_length: int = Field(226, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    max_steps: int = Field(65000, ge=1)
    warmup_steps: int = Field(800, ge=0)
    lr_cycles: int = Field(1, ge=1, description="cosine-with-restarts cycles")
    batch_size: int = Field(1, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    max_grad_norm: float = Field(1.0, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    mixed_precision: Literal["no", "fp16", "bf16"] = "bf16"
    gradient_checkpointing: bool = True
    checkpoint_every: int = Field(1000, ge=1)
    keep_checkpoints: int = Field(3, ge=1)
    validation_every: int | None = Field(500, ge=1, description="None disables validation renders")
    validation_prompts: tuple[str, ...] = (
        "Create a continuous curvilinear capsulorhexis with the forceps.",
        "Remove the nucleus with the phacoemulsification probe.",
    )
    validation_inference_steps: int = Field(50, ge=1)
    guidance_scale: float = Field(6.0, ge=0)
    lora_rank: int | None = Field(None, ge=1, description="train LoRA adapters of this rank instead of all weights")
    lora_alpha: float | None = None
    precompute_latents: bool = Field(False, description="cache VAE latents and T5 embeddings on disk")
    seed: int = 42

    @field_validator("mixed_precision", mode="before")
    @classmethod
    def _yaml_no(cls, value: object) -> object:
        return "no" if value is False else value  # YAML reads a bare `no` as false

    @field_validator("frames")
    @classmethod
    def _frames_fit_vae(cls, value: int) -> int:
        if (value - 1) % 4 != 0:
            raise ValueError(f"must be 4k+1 for the CogVideoX VAE (got {value})")
        return value

    @field_validator("height", "width")
    @classmethod
    def _multiple_of_16(cls, value: int) -> int:
        if value % 16:
            raise ValueError(f"must be a multiple of 16 (got {value})")
        return value
