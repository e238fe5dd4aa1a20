"""Checkpoint folders `checkpoints/checkpoint-<step>/`: save, prune, find the latest for --resume, and
the training progress (data position, noise RNG) saved in them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ophora_data.tuning.errors import TuningError

_PATTERN = re.compile(r"^checkpoint-(\d+)$")


class TrainingProgress:
    """Where training stands, saved in every checkpoint so that a resumed run repeats an uninterrupted one.

    `epoch` and `batches_in_epoch` place the data loader (the order of each epoch comes from a
    seedable sampler, seed `tune.seed` + epoch); `generator` draws the diffusion noise, timesteps and
    latent samples, so nothing else that touches torch's global RNG (data loading, validation renders)
    changes them. Registered with `accelerator.register_for_checkpointing` (state_dict/load_state_dict).
    """

    def __init__(self, seed: int, device: str) -> None:
        import torch

        self.epoch = 0
        self.batches_in_epoch = 0
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def next_epoch(self) -> None:
        self.epoch, self.batches_in_epoch = self.epoch + 1, 0

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "batches_in_epoch": self.batches_in_epoch, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.batches_in_epoch = int(state["epoch"]), int(state["batches_in_epoch"])
        self.generator.set_state(state["rng"].cpu())


def checkpoint_dirs(out_dir: Path) -> list[tuple[int, Path]]:
    root = out_dir / "checkpoints"
    found = [(int(m.group(1)), p) for p in root.glob("checkpoint-*") if (m := _PATTERN.match(p.name)) and p.is_dir()]
    return sorted(found)


def resolve_resume(out_dir: Path, resume: str) -> tuple[int, Path]:
    if resume == "latest":
        found = checkpoint_dirs(out_dir)
        if not found:
            raise TuningError(f"--resume latest: no checkpoint under {out_dir / 'checkpoints'}")
        return found[-1]
    path = Path(resume)
    match = _PATTERN.match(path.name)
    if not (path.is_dir() and match):
        raise TuningError(f"--resume {resume}: not a checkpoint-<step> folder")
    return int(match.group(1)), path


def save_checkpoint(accelerator, out_dir: Path, step: int, loss: float, keep: int) -> Path:
    path = out_dir / "checkpoints" / f"checkpoint-{step}"
    accelerator.save_state(str(path))
    (path / "ophora_step.json").write_text(json.dumps({"step": step, "loss": loss}))
    for _, old in checkpoint_dirs(out_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path
