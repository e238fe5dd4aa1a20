"""Load CogVideoX parts (transformer, frozen VAE and T5, tokenizer, scheduler) from a Hub id or a path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ophora_data.config.tune import TuneConfig
from ophora_data.tuning.errors import TuningError, require_tune_extra


@dataclass
class Components:
    tokenizer: Any
    text_encoder: Any
    vae: Any
    transformer: Any
    scheduler: Any


def resolve_transformer_path(path: str) -> str:
    """Accept a phase-1 output dir, its final/ dir, or the transformer folder itself."""
    root = Path(path)
    for candidate in (root / "final" / "transformer", root / "transformer", root):
        if (candidate / "config.json").is_file():
            return str(candidate)
    raise TuningError(f"no transformer weights under {path} (expected final/transformer/config.json)")


def load_components(cfg: TuneConfig, device: str) -> Components:
    require_tune_extra()
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDPMScheduler, CogVideoXTransformer3DModel
    from transformers import AutoTokenizer, T5EncoderModel

    try:
        tokenizer = AutoTokenizer.from_pretrained(cfg.model, subfolder="tokenizer")
        text_encoder = T5EncoderModel.from_pretrained(cfg.model, subfolder="text_encoder")
        vae = AutoencoderKLCogVideoX.from_pretrained(cfg.model, subfolder="vae")
        scheduler = CogVideoXDPMScheduler.from_pretrained(cfg.model, subfolder="scheduler")
        if cfg.init_transformer:
            transformer = CogVideoXTransformer3DModel.from_pretrained(resolve_transformer_path(cfg.init_transformer))
        else:
            transformer = CogVideoXTransformer3DModel.from_pretrained(cfg.model, subfolder="transformer")
    except OSError as exc:
        raise TuningError(f"cannot load CogVideoX from {cfg.model!r}: {exc}") from exc
    for frozen in (text_encoder, vae):
        frozen.requires_grad_(False)
        frozen.eval()
        frozen.to(device)
    transformer.to(device)
    return Components(tokenizer, text_encoder, vae, transformer, scheduler)


def encode_prompts(components: Components, prompts: list[str], max_length: int, device: str):
    import torch

    tokens = components.tokenizer(
        prompts,
        padding="max_length",
        max_length=max_length,
        truncation=True,
        add_special_tokens=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        return components.text_encoder(tokens.input_ids.to(device))[0]


def encode_video_params(components: Components, video):
    """(B, F, C, H, W) in [-1, 1] -> the VAE's latent distribution parameters (mean and logvar)."""
    import torch

    with torch.no_grad():
        return components.vae.encode(video.permute(0, 2, 1, 3, 4)).latent_dist.parameters


def sample_latents(components: Components, params, generator=None):
    """Draw latents from stored parameters and scale them as the pipeline does: (B, F', C', h, w).

    `generator` (a torch.Generator on the params' device) makes the draw reproducible across a resume.
    """
    from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

    latents = DiagonalGaussianDistribution(params).sample(generator=generator) * components.vae.config.scaling_factor
    return latents.permute(0, 2, 1, 3, 4)


def rotary_embeddings(components: Components, cfg: TuneConfig, latent_frames: int, device: str):
    """CogVideoX-5b style 3D RoPE; None for models without it (CogVideoX-2b)."""
    transformer = components.transformer
    if not transformer.config.use_rotary_positional_embeddings:
        return None
    from diffusers.models.embeddings import get_3d_rotary_pos_embed
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid

    spatial = 2 ** (len(components.vae.config.block_out_channels) - 1)
    patch = transformer.config.patch_size
    grid_h, grid_w = cfg.height // (spatial * patch), cfg.width // (spatial * patch)
    base_w, base_h = transformer.config.sample_width // patch, transformer.config.sample_height // patch
    crops = get_resize_crop_region_for_grid((grid_h, grid_w), base_w, base_h)
    cos, sin = get_3d_rotary_pos_embed(
        embed_dim=transformer.config.attention_head_dim,
        crops_coords=crops,
        grid_size=(grid_h, grid_w),
        temporal_size=latent_frames,
        device=device,
    )
    return cos, sin
