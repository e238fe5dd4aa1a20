from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class TuneConfig(Section):
    model: str = "THUDM/CogVideoX-2b"
    frames: int = 49
    fps: int = 8
    height: int = 480
    width: int = 720
    learning_rate: float = 1e-4
    max_steps: int = 65000
    warmup_steps: int = 800
    batch_size: int = Field(1, ge=1)
    checkpoint_every: int = 1000
    lora_rank: int | None = None
