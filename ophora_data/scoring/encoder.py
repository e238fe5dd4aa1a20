"""What the score stage needs from a CLIP-style model; the open_clip adapter and test fakes implement it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np


class ClipEncoder(Protocol):
    name: str  # recorded as `model` in every check row
    revision: str  # recorded as `model_revision` (a weight hash)
    logit_scale: float  # the model's temperature for zero-shot softmax
    cache_key: dict[str, Any]  # everything that changes an embedding (model, weights, precision)

    def preprocess(self, frames: np.ndarray) -> Any:
        """(N, H, W, C) uint8 frames -> the model's input for them; runs in decode worker threads."""
        ...

    def encode_images(self, inputs: Sequence[Any]) -> list[np.ndarray]:
        """One (N_i, D) array of L2-normalised embeddings per preprocessed input."""
        ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), D) L2-normalised text embeddings."""
        ...
