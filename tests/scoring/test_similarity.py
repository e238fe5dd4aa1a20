from __future__ import annotations

import math

import numpy as np
import pytest

from ophora_data.scoring.similarity import (
    clip_embedding,
    l2_normalize,
    positive_probability,
    softmax,
    text_similarity,
)


def test_text_similarity_mean_and_max_of_frame_cosines() -> None:
    frames = np.array([[1, 0, 0], [0, 1, 0], [3, 4, 0]], dtype=np.float32)  # unnormalised on purpose
    result = text_similarity(frames, np.array([2.0, 0.0, 0.0]))
    assert result.mean == pytest.approx((1 + 0 + 0.6) / 3)
    assert result.max == pytest.approx(1.0)


def test_positive_probability_is_softmax_mass_on_positive_prompts() -> None:
    prompts = np.eye(3, dtype=np.float32)  # positives: e1, e2; negative: e3
    frames = np.array([[1, 0, 0], [0, 0, 1]], dtype=np.float32)
    got = positive_probability(frames, prompts, n_positive=2, logit_scale=5.0)
    e5 = math.exp(5)
    assert got == pytest.approx([(e5 + 1) / (e5 + 2), 2 / (e5 + 2)])
    assert np.all((got >= 0) & (got <= 1))


def test_positive_probability_is_stable_at_large_logit_scale() -> None:
    got = positive_probability(np.array([[0, 1.0]]), np.array([[1.0, 0], [0, 1.0]]), 1, logit_scale=1000.0)
    assert np.isfinite(got).all() and got[0] == pytest.approx(0.0)


def test_positive_probability_needs_both_prompt_sets() -> None:
    with pytest.raises(ValueError, match="positive and one negative"):
        positive_probability(np.ones((1, 2)), np.eye(2), n_positive=2, logit_scale=1.0)


def test_clip_embedding_is_the_normalised_mean() -> None:
    got = clip_embedding(np.array([[2, 0], [0, 5]], dtype=np.float32))
    assert got == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(2)])


def test_normalize_keeps_zero_vectors_finite_and_softmax_sums_to_one() -> None:
    assert l2_normalize(np.zeros((1, 3))).tolist() == [[0, 0, 0]]
    assert softmax(np.array([[1.0, 2.0, 3.0]])).sum() == pytest.approx(1.0)
