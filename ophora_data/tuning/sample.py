"""`ophora-data sample`: render prompts with a (tuned) CogVideoX pipeline; one mp4 + settings JSON each."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ophora_data import __version__
from ophora_data.tuning.errors import TuningError, require_tune_extra, resolve_device
from ophora_data.tuning.prompts import Prompt
from ophora_data.tuning.video import write_mp4

DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class SampleSettings:
    model: str
    guidance_scale: float = 6.0
    steps: int = 50
    frames: int = 49
    fps: float = 8.0
    height: int = 480
    width: int = 720
    seed: int = 42
    dtype: str = "bfloat16"
    batch: int = 1
    transformer: str | None = None


def load_pipeline(settings: SampleSettings, device: str):
    import torch
    from diffusers import CogVideoXPipeline, CogVideoXTransformer3DModel

    if settings.dtype not in DTYPES:
        raise TuningError(f"--dtype must be one of {', '.join(DTYPES)}")
    dtype = getattr(torch, settings.dtype) if device == "cuda" else torch.float32
    extra = {}
    if settings.transformer:
        from ophora_data.tuning.components import resolve_transformer_path

        path = resolve_transformer_path(settings.transformer)
        extra["transformer"] = CogVideoXTransformer3DModel.from_pretrained(path, torch_dtype=dtype)
    try:
        pipe = CogVideoXPipeline.from_pretrained(settings.model, torch_dtype=dtype, **extra)
    except OSError as exc:
        raise TuningError(f"cannot load a CogVideoX pipeline from {settings.model!r}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def render(
    pipe: Any,
    prompts: list[str],
    generators: list[Any],
    frames: int,
    height: int,
    width: int,
    steps: int,
    guidance_scale: float,
) -> list[np.ndarray]:
    """Generate one (F, H, W, 3) uint8 video per prompt with a CogVideoX pipeline."""
    videos = pipe(
        prompt=prompts,
        num_frames=frames,
        height=height,
        width=width,
        num_inference_steps=steps,
        guidance_scale=guidance_scale,
        generator=generators,
        output_type="np",
        # The text length the transformer was built for (226 for the released CogVideoX models).
        max_sequence_length=pipe.transformer.config.max_text_seq_length,
    ).frames
    return [(np.clip(video, 0, 1) * 255).round().astype(np.uint8) for video in videos]


def sample(prompts: list[Prompt], settings: SampleSettings, out_dir: Path, device: str = "auto") -> list[Path]:
    require_tune_extra()
    import torch

    device = resolve_device(device)
    pipe = load_pipeline(settings, device)
    written: list[Path] = []
    for start in tqdm(range(0, len(prompts), settings.batch), desc="sample", unit="batch"):
        chunk = prompts[start : start + settings.batch]
        generators = [torch.Generator(device=device).manual_seed(settings.seed + start + i) for i in range(len(chunk))]
        videos = render(
            pipe,
            [p.text for p in chunk],
            generators,
            settings.frames,
            settings.height,
            settings.width,
            settings.steps,
            settings.guidance_scale,
        )
        for offset, (prompt, frames) in enumerate(zip(chunk, videos, strict=True)):
            path = write_mp4(frames, out_dir / f"{prompt.id}.mp4", settings.fps)
            sidecar = {
                **asdict(settings),
                "prompt": prompt.text,
                "id": prompt.id,
                "seed": settings.seed + start + offset,
                "device": device,
                "code_version": __version__,
            }
            path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
            written.append(path)
    return written
