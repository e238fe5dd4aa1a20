"""Test encoders for `score`: a fake with known outputs, and a tiny random-weight open_clip model.

The fake gives exact checks of the stage's arithmetic: each frame is reduced to its mean
RGB colour and mapped to the vector of the nearest palette colour, so a solid-colour test
clip has a known embedding whatever the codec does to it.
Texts map through a dict; an unknown text is an error, so a test cannot pass by accident.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


class FakeEncoder:
    name = "fake-clip@known-vectors"
    revision = "fake-revision-1"

    def __init__(self, palette: Mapping[tuple[int, int, int], Sequence[float]],
                 texts: Mapping[str, Sequence[float]], logit_scale: float = 10.0) -> None:
        self.colours = np.asarray(list(palette), dtype=np.float32)
        self.vectors = np.stack([unit(*v) for v in palette.values()])
        self.texts = {text: unit(*v) for text, v in texts.items()}
        self.logit_scale = logit_scale
        self.cache_key: dict[str, Any] = {"model": self.name, "revision": self.revision}
        self.frames_encoded = 0
        self.texts_encoded = 0

    def preprocess(self, frames: np.ndarray) -> np.ndarray:
        return np.asarray(frames, dtype=np.float32).reshape(len(frames), -1, 3).mean(axis=1)

    def encode_images(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        for colours in inputs:
            distances = np.linalg.norm(colours[:, None, :] - self.colours[None, :, :], axis=-1)
            out.append(self.vectors[distances.argmin(axis=1)])
            self.frames_encoded += len(colours)
        return out

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.texts_encoded += len(texts)
        return np.stack([self.texts[text] for text in texts])


# A tiny random-weight open_clip model -------------------------------------------------
# The real open_clip code path (config registry, checkpoint loading, preprocessing,
# tokenizer, encoders) at ~1.7M parameters, built offline; scores mean nothing.
TINY_OPEN_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def build_tiny_open_clip(folder: Path, name: str = "ophora-tiny-clip", seed: int = 0) -> tuple[Path, Path]:
    """Write `<name>.json` (an open_clip model config) and `<name>.pt` (random weights) into folder."""
    import open_clip
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{name}.json"
    config_path.write_text(json.dumps(TINY_OPEN_CLIP))
    open_clip.add_model_config(config_path)
    torch.manual_seed(seed)
    model = open_clip.create_model(name, pretrained=None)
    checkpoint = folder / f"{name}.pt"
    torch.save(model.state_dict(), checkpoint)
    return config_path, checkpoint
