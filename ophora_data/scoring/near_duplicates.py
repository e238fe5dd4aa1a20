"""Near-duplicate search: a clip against every earlier clip, by cosine of mean embeddings.

"Earlier" is a rank given by the caller (the stage's item order). The value of a clip is its
highest cosine to any earlier clip, whatever became of that clip: it does not depend on any
threshold, so `refilter` re-evaluates it exactly, and the earliest clip of every group of
near-identical clips is the one kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ophora_data.scoring.similarity import l2_normalize

# The value stored when there is nothing earlier to compare with: the lowest cosine possible.
NO_CANDIDATE_COSINE = -1.0
# Cosines this close to the best count as ties, broken by the earliest rank (deterministic twins).
TIE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Twin:
    clip_id: str | None
    video_id: str | None
    cosine: float
    candidates: int


class NearDuplicateIndex:
    def __init__(self) -> None:
        self._ids: list[str] = []
        self._videos: list[str | None] = []
        self._ranks = np.zeros(16, dtype=np.int64)
        self._vectors: np.ndarray | None = None  # grown by doubling: appends stay amortised O(1)
        self._positions: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._positions)

    def __contains__(self, clip_id: object) -> bool:
        return clip_id in self._positions

    def add(self, clip_id: str, video_id: str | None, rank: int, embedding: np.ndarray) -> None:
        """Index a clip; adding it again replaces its vector and rank."""
        vector = l2_normalize(np.asarray(embedding, dtype=np.float32).ravel())
        if clip_id in self._positions and self._vectors is not None:
            position = self._positions[clip_id]
            self._vectors[position], self._ranks[position] = vector, rank
            return
        size = len(self._ids)
        if self._vectors is None:
            self._vectors = np.zeros((16, vector.size), dtype=np.float32)
        elif size == len(self._vectors):
            self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])
            self._ranks = np.concatenate([self._ranks, np.zeros_like(self._ranks)])
        self._vectors[size] = vector
        self._positions[clip_id] = size
        self._ids.append(clip_id)
        self._videos.append(video_id)
        self._ranks[size] = rank

    def nearest_earlier(self, embedding: np.ndarray, rank: int) -> Twin:
        """The most similar clip ranked before `rank`, the earliest among ties (cosine -1: none)."""
        if self._vectors is None:
            return Twin(None, None, NO_CANDIDATE_COSINE, 0)
        earlier = np.flatnonzero(self._ranks[: len(self._ids)] < rank)
        if earlier.size == 0:
            return Twin(None, None, NO_CANDIDATE_COSINE, 0)
        query = l2_normalize(np.asarray(embedding, dtype=np.float32).ravel())
        cosines = self._vectors[earlier] @ query
        ties = np.flatnonzero(cosines >= cosines.max() - TIE_TOLERANCE)
        best = int(ties[np.argmin(self._ranks[earlier[ties]])])
        position = int(earlier[best])
        return Twin(self._ids[position], self._videos[position], float(cosines[best]), int(earlier.size))
