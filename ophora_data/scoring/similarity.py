"""Clip-text similarity and zero-shot arithmetic on L2-normalised embeddings (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def l2_normalize(vectors: np.ndarray, axis: int = -1) -> np.ndarray:
    """Unit vectors along `axis`; a zero vector stays zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=axis, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def clip_embedding(frame_embeddings: np.ndarray) -> np.ndarray:
    """One vector per clip: the normalised mean of its frame embeddings (what near-dup compares)."""
    return l2_normalize(l2_normalize(frame_embeddings).mean(axis=0))


@dataclass(frozen=True)
class Similarity:
    mean: float
    max: float


def text_similarity(frame_embeddings: np.ndarray, text_embedding: np.ndarray) -> Similarity:
    """Cosine between every frame and the instruction: the mean is the check value, max an extra."""
    cosines = l2_normalize(frame_embeddings) @ l2_normalize(text_embedding)
    return Similarity(mean=float(cosines.mean()), max=float(cosines.max()))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)  # no overflow for large logit scales
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


def positive_probability(
    frame_embeddings: np.ndarray, prompt_embeddings: np.ndarray, n_positive: int, logit_scale: float
) -> np.ndarray:
    """Per frame: softmax over all prompts (positives first), summed over the positive ones.

    This is CLIP zero-shot classification with two classes, each a set of prompts: the
    probability mass the model puts on "surgical" prompts against every negative prompt.
    """
    if not 0 < n_positive < len(prompt_embeddings):
        raise ValueError("need at least one positive and one negative prompt")
    logits = logit_scale * (l2_normalize(frame_embeddings) @ l2_normalize(prompt_embeddings).T)
    return softmax(logits, axis=-1)[:, :n_positive].sum(axis=-1)
