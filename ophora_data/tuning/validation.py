"""Validation prompts rendered to video every N steps, with the weights being trained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ophora_data.config.tune import TuneConfig
from ophora_data.tuning.components import Components
from ophora_data.tuning.sample import render
from ophora_data.tuning.video import write_mp4


def render_validation(
    components: Components, transformer: Any, cfg: TuneConfig, out_dir: Path, step: int, device: str
) -> list[Path]:
    import torch
    from diffusers import CogVideoXDPMScheduler, CogVideoXPipeline

    pipe = CogVideoXPipeline(
        tokenizer=components.tokenizer,
        text_encoder=components.text_encoder,
        vae=components.vae,
        transformer=transformer,
        scheduler=CogVideoXDPMScheduler.from_config(components.scheduler.config),
    )
    pipe.set_progress_bar_config(disable=True)
    written = []
    transformer.eval()
    with torch.no_grad():
        for index, prompt in enumerate(cfg.validation_prompts):
            generator = torch.Generator(device=device).manual_seed(cfg.seed)
            (video,) = render(
                pipe,
                [prompt],
                [generator],
                cfg.frames,
                cfg.height,
                cfg.width,
                cfg.validation_inference_steps,
                cfg.guidance_scale,
            )
            path = out_dir / "validation" / f"step-{step:06d}" / f"{index:02d}.mp4"
            written.append(write_mp4(video, path, cfg.fps))
    transformer.train()
    return written
