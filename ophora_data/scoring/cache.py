"""Per-clip embeddings under `<run>/cache/score/<namespace>/`, so a rerun or refilter never re-encodes.

One `.npz` per clip holds the frame embeddings (K x D, what similarity and the zero-shot
score need) and the instruction embedding, each with the hash of its input: the clip file's
content hash and the instruction text's hash. A changed clip or instruction misses; the
rest is reused. The namespace is a hash of everything that changes an embedding (model,
weights, frame count, precision), described in its `meta.json`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ophora_data.config import stable_hash
from ophora_data.run.atomic import atomic_write, atomic_write_json


def file_fingerprint(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Content hash of a clip: a recut clip with different bytes is encoded again."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def text_fingerprint(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class CachedClip:
    frames: np.ndarray | None  # (K, D) frame embeddings
    content_hash: str
    text: np.ndarray | None  # (D,) instruction embedding
    text_hash: str


class EmbeddingCache:
    def __init__(self, cache_dir: Path, namespace: dict[str, Any]) -> None:
        self.dir = Path(cache_dir) / "score" / stable_hash(namespace, 16)
        self.namespace = namespace

    def _clip_path(self, clip_id: str) -> Path:
        # One folder per video keeps folders small at 160K clips (clip ids are <video_id>_<n>).
        video_part = clip_id.rsplit("_", 1)[0] or clip_id
        return self.dir / "clips" / video_part / f"{clip_id}.npz"

    def _ensure_meta(self) -> None:
        meta = self.dir / "meta.json"
        if not meta.exists():
            atomic_write_json(meta, self.namespace)

    def load(self, clip_id: str) -> CachedClip | None:
        path = self._clip_path(clip_id)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                frames = data["frames"] if data["frames"].size else None
                text = data["text"] if data["text"].size else None
                return CachedClip(frames, str(data["content_hash"]), text, str(data["text_hash"]))
        except (OSError, ValueError, KeyError):
            return None  # a damaged entry is a miss, never an error: it is recomputed and rewritten

    def save(self, clip_id: str, entry: CachedClip) -> None:
        self._ensure_meta()
        empty = np.zeros((0,), dtype=np.float32)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a handle, so numpy does not append ".npz" to the temp name
                np.savez(handle, frames=empty if entry.frames is None else entry.frames.astype(np.float32),
                         text=empty if entry.text is None else entry.text.astype(np.float32),
                         content_hash=np.array(entry.content_hash), text_hash=np.array(entry.text_hash))

        atomic_write(self._clip_path(clip_id), write)

    def load_prompts(self, prompts_hash: str) -> np.ndarray | None:
        path = self.dir / "prompts" / f"{prompts_hash}.npy"
        try:
            return np.load(path, allow_pickle=False) if path.exists() else None
        except (OSError, ValueError):
            return None

    def save_prompts(self, prompts_hash: str, embeddings: np.ndarray) -> None:
        self._ensure_meta()

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, embeddings.astype(np.float32))

        atomic_write(self.dir / "prompts" / f"{prompts_hash}.npy", write)
