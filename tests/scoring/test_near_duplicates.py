from __future__ import annotations

import numpy as np
import pytest

from ophora_data.scoring.near_duplicates import NO_CANDIDATE_COSINE, NearDuplicateIndex


def test_empty_index_has_no_twin() -> None:
    twin = NearDuplicateIndex().nearest_earlier(np.array([1.0, 0.0]), rank=5)
    assert (twin.clip_id, twin.cosine, twin.candidates) == (None, NO_CANDIDATE_COSINE, 0)


def test_only_earlier_ranks_are_candidates() -> None:
    index = NearDuplicateIndex()
    index.add("b_0", "b", rank=3, embedding=np.array([1.0, 0.0]))
    index.add("a_0", "a", rank=1, embedding=np.array([0.6, 0.8]))
    twin = index.nearest_earlier(np.array([1.0, 0.0]), rank=2)  # b_0 is identical but later
    assert (twin.clip_id, twin.video_id, twin.candidates) == ("a_0", "a", 1)
    assert twin.cosine == pytest.approx(0.6)
    assert index.nearest_earlier(np.array([1.0, 0.0]), rank=1).clip_id is None  # never itself


def test_most_similar_earlier_clip_is_the_twin_and_growth_keeps_vectors() -> None:
    index = NearDuplicateIndex()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8))  # beyond the initial capacity of 16
    for n, vector in enumerate(vectors):
        index.add(f"v_{n}", "v", rank=n, embedding=vector)
    assert len(index) == 40 and "v_39" in index
    twin = index.nearest_earlier(vectors[7] * 3, rank=100)
    assert (twin.clip_id, twin.candidates) == ("v_7", 40)
    assert twin.cosine == pytest.approx(1.0, abs=1e-6)



def test_ties_go_to_the_earliest_rank_and_re_adding_replaces() -> None:
    index = NearDuplicateIndex()
    index.add("b_0", "b", rank=2, embedding=np.array([1.0, 0.0]))
    index.add("a_0", "a", rank=0, embedding=np.array([2.0, 0.0]))
    index.add("a_1", "a", rank=1, embedding=np.array([1.0, 0.0]))
    assert index.nearest_earlier(np.array([1.0, 0.0]), rank=3).clip_id == "a_0"
    index.add("a_0", "a", rank=0, embedding=np.array([0.0, 1.0]))
    assert len(index) == 3 and index.nearest_earlier(np.array([1.0, 0.0]), rank=3).clip_id == "a_1"
