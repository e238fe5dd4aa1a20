"""The training loop: CogVideoX transformer tuned with a frozen VAE and T5 (v-prediction), on accelerate."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ophora_data.config.tune import TuneConfig
from ophora_data.tuning.checkpoints import TrainingProgress, resolve_resume, save_checkpoint
from ophora_data.tuning.components import (
    Components,
    encode_prompts,
    encode_video_params,
    load_components,
    rotary_embeddings,
    sample_latents,
)
from ophora_data.tuning.data import collate, make_dataset
from ophora_data.tuning.errors import TuningError, require_tune_extra, resolve_device
from ophora_data.tuning.latents import LatentCache, cached_dataset, precompute
from ophora_data.tuning.validation import render_validation


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    last_loss: float
    final_transformer: Path
    latents: dict[str, int] | None = None


def diffusion_loss(components: Components, cfg: TuneConfig, batch: dict[str, Any], device: str, generator=None):
    """v-prediction loss as CogVideoX was trained: predict x0 via get_velocity, SNR-style weights.

    Every random draw (latent sample, noise, timesteps) comes from `generator` when given, so a run
    resumed from a checkpoint draws exactly what an uninterrupted run would.
    """
    import torch

    params = batch["latent_params"] if "latent_params" in batch else encode_video_params(components, batch["video"])
    latents = sample_latents(components, params.to(device), generator)
    embeds = batch.get("prompt_embeds")
    embeds = (
        embeds.to(device)
        if embeds is not None
        else encode_prompts(components, batch["prompt"], cfg.max_text_length, device)
    )
    scheduler = components.scheduler
    noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
    steps = torch.randint(
        0, scheduler.config.num_train_timesteps, (latents.shape[0],), generator=generator, device=device
    ).long()
    noisy = scheduler.add_noise(latents, noise, steps)
    output = components.transformer(
        hidden_states=noisy,
        encoder_hidden_states=embeds,
        timestep=steps,
        image_rotary_emb=rotary_embeddings(components, cfg, latents.shape[1], device),
        return_dict=False,
    )[0]
    predicted = scheduler.get_velocity(output, noisy, steps)
    alphas = scheduler.alphas_cumprod.to(device)[steps].flatten()
    weights = (1 / (1 - alphas)).view(-1, 1, 1, 1, 1)
    return (weights * (predicted.float() - latents.float()) ** 2).reshape(latents.shape[0], -1).mean(1).mean()


def add_lora(transformer: Any, cfg: TuneConfig) -> None:
    from peft import LoraConfig

    transformer.requires_grad_(False)
    transformer.add_adapter(
        LoraConfig(
            r=cfg.lora_rank,
            lora_alpha=cfg.lora_alpha or cfg.lora_rank,
            init_lora_weights=True,
            target_modules=["to_k", "to_q", "to_v", "to_out.0"],
        )
    )


def _training_data(components: Components, cfg: TuneConfig, out_dir: Path, device: str):
    dataset = make_dataset(cfg)
    if not cfg.precompute_latents:
        return dataset, None
    cache = LatentCache(out_dir / "cache" / "latents", cfg)
    samples, counts = precompute(dataset, components, cfg, cache, device)
    return cached_dataset(cache, samples), counts


def save_final(
    accelerator: Any, components: Components, cfg: TuneConfig, out_dir: Path, step: int, loss: float
) -> Path:
    transformer = accelerator.unwrap_model(components.transformer)
    final = out_dir / "final"
    if cfg.lora_rank:
        from diffusers import CogVideoXPipeline
        from peft.utils import get_peft_model_state_dict

        CogVideoXPipeline.save_lora_weights(final, transformer_lora_layers=get_peft_model_state_dict(transformer))
        transformer.fuse_lora()  # phase 2 starts from full weights either way
        transformer.unload_lora()
    transformer.save_pretrained(final / "transformer")
    (final / "training_state.json").write_text(
        json.dumps({"phase": cfg.phase, "steps": step, "loss": loss, "config": cfg.model_dump(mode="json")}, indent=2)
    )
    return final / "transformer"


def epoch_batches(accelerator: Any, loader: Any, progress: TrainingProgress):
    """The loader positioned at `progress`: this epoch's order, minus the batches already trained on."""
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(progress.epoch)
    if progress.batches_in_epoch:
        return accelerator.skip_first_batches(loader, progress.batches_in_epoch)
    return loader


def train(cfg: TuneConfig, out_dir: Path, device: str = "auto", resume: str | None = None) -> TrainResult:
    """Tune the CogVideoX transformer for `cfg.max_steps` optimizer steps; checkpoints, final weights in `out_dir`.

    `resume` ("latest" or a checkpoint-<step> folder) continues from that checkpoint's step, weights,
    optimizer, scheduler, data position and noise RNG: the result equals an uninterrupted run (on the
    same device and settings). Raises TuningError for missing data, checkpoints or a diverging loss.
    """
    require_tune_extra()
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed
    from diffusers.optimization import get_cosine_with_hard_restarts_schedule_with_warmup

    device = resolve_device(device)
    accelerator = Accelerator(
        cpu=device == "cpu",
        mixed_precision=cfg.mixed_precision if device == "cuda" else "no",
        gradient_accumulation_steps=cfg.gradient_accumulation,
        project_dir=str(out_dir),
        # Each epoch's order is a function of (seed, epoch), so a resume can replay it and skip what was seen.
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=cfg.seed),
    )
    set_seed(cfg.seed)
    components = load_components(cfg, str(accelerator.device))
    transformer = components.transformer
    if cfg.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    if cfg.lora_rank:
        add_lora(transformer, cfg)
    dataset, latent_counts = _training_data(components, cfg, out_dir, str(accelerator.device))
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        collate_fn=collate,
        shuffle=isinstance(dataset, torch.utils.data.Dataset)
        and not isinstance(dataset, torch.utils.data.IterableDataset),
    )
    optimizer = torch.optim.AdamW(
        [p for p in transformer.parameters() if p.requires_grad],
        lr=cfg.learning_rate,
        betas=(0.9, 0.95),
        weight_decay=cfg.weight_decay,
    )
    schedule = get_cosine_with_hard_restarts_schedule_with_warmup(
        optimizer, cfg.warmup_steps, cfg.max_steps, num_cycles=cfg.lr_cycles
    )
    components.transformer, optimizer, loader, schedule = accelerator.prepare(transformer, optimizer, loader, schedule)
    progress = TrainingProgress(cfg.seed + accelerator.process_index, str(accelerator.device))
    accelerator.register_for_checkpointing(progress)
    step, loss_value = 0, math.nan
    if resume:
        step, checkpoint = resolve_resume(out_dir, resume)
        # Restores weights, optimizer, scheduler, RNGs and `progress` (data position, noise generator).
        accelerator.load_state(str(checkpoint))
    bar = tqdm(total=cfg.max_steps, initial=step, desc=f"tune {cfg.phase}", unit="step")
    components.transformer.train()
    while step < cfg.max_steps:
        seen_before = progress.batches_in_epoch
        for batch in epoch_batches(accelerator, loader, progress):
            progress.batches_in_epoch += 1
            with accelerator.accumulate(components.transformer):
                loss = diffusion_loss(components, cfg, batch, str(accelerator.device), progress.generator)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(components.transformer.parameters(), cfg.max_grad_norm)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
            if not accelerator.sync_gradients:
                continue
            step, loss_value = step + 1, float(loss.detach())
            if not math.isfinite(loss_value):
                raise TuningError(f"loss became {loss_value} at step {step}: lower the learning rate")
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{schedule.get_last_lr()[0]:.2e}")
            if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
                save_checkpoint(accelerator, out_dir, step, loss_value, cfg.keep_checkpoints)
            if cfg.validation_every and step % cfg.validation_every == 0:
                render_validation(
                    components,
                    accelerator.unwrap_model(components.transformer),
                    cfg,
                    out_dir,
                    step,
                    str(accelerator.device),
                )
            if step >= cfg.max_steps:
                break
        else:
            if progress.batches_in_epoch == 0 and seen_before == 0:
                raise TuningError(f"no training samples in {cfg.data!r} (config {cfg.subset!r})")
            progress.next_epoch()
    bar.close()
    final = save_final(accelerator, components, cfg, out_dir, step, loss_value)
    return TrainResult(out_dir, step, loss_value, final, latent_counts)
