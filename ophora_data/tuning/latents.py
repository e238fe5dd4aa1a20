"""Pre-computed VAE latent parameters and T5 embeddings on disk: cached, resumable, keyed by settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ophora_data.config import stable_hash
from ophora_data.config.tune import TuneConfig
from ophora_data.tuning.components import Components, encode_prompts, encode_video_params


class LatentCache:
    def __init__(self, root: Path, cfg: TuneConfig) -> None:
        # A different model, frame count or size must never reuse stale latents.
        settings = {
            "model": cfg.model,
            "frames": cfg.frames,
            "fps": cfg.fps,
            "h": cfg.height,
            "w": cfg.width,
            "text": cfg.max_text_length,
        }
        self.dir = root / stable_hash(settings)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.pt"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def save(self, key: str, latent_params: Any, prompt_embeds: Any) -> None:
        import torch

        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path(key).with_suffix(".tmp")
        torch.save({"latent_params": latent_params.cpu(), "prompt_embeds": prompt_embeds.cpu()}, tmp)
        os.replace(tmp, self.path(key))  # a killed run never leaves a half entry

    def load(self, key: str) -> dict[str, Any]:
        import torch

        return torch.load(self.path(key), map_location="cpu")


def precompute(
    dataset: Any, components: Components, cfg: TuneConfig, cache: LatentCache, device: str
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Encode every sample not yet cached; returns the (key, prompt) list and {computed, reused} counts."""
    counts = {"computed": 0, "reused": 0}
    seen: list[tuple[str, str]] = []
    for sample in tqdm(dataset, desc="latents", unit="clip"):
        seen.append((sample["key"], sample["prompt"]))
        if cache.has(sample["key"]):
            counts["reused"] += 1
            continue
        params = encode_video_params(components, sample["video"].unsqueeze(0).to(device))[0]
        embeds = encode_prompts(components, [sample["prompt"]], cfg.max_text_length, device)[0]
        cache.save(sample["key"], params, embeds)
        counts["computed"] += 1
    return seen, counts


def cached_dataset(cache: LatentCache, samples: list[tuple[str, str]]):
    import torch.utils.data as tud

    keys, prompts = [k for k, _ in samples], [p for _, p in samples]

    class CachedClips(tud.Dataset):
        def __len__(self) -> int:
            return len(keys)

        def __getitem__(self, index: int) -> dict[str, Any]:
            return {"key": keys[index], "prompt": prompts[index], **cache.load(keys[index])}

    return CachedClips()
