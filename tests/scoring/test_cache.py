from __future__ import annotations

from pathlib import Path

import numpy as np

from ophora_data.scoring.cache import CachedClip, EmbeddingCache, file_fingerprint, text_fingerprint


def test_round_trip_partial_entries_and_namespaces(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, {"model": "m", "revision": "r1", "frames": 8})
    assert cache.load("vid_0") is None
    frames = np.arange(6, dtype=np.float32).reshape(3, 2)
    cache.save("vid_0", CachedClip(frames, "c1", None, "t1"))
    got = cache.load("vid_0")
    assert got is not None and got.text is None and (got.content_hash, got.text_hash) == ("c1", "t1")
    np.testing.assert_array_equal(got.frames, frames)
    assert (cache.dir / "meta.json").exists() and (cache.dir / "clips" / "vid" / "vid_0.npz").exists()
    other = EmbeddingCache(tmp_path, {"model": "m", "revision": "r2", "frames": 8})
    assert other.load("vid_0") is None  # other weights never see these embeddings


def test_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, {"model": "m"})
    cache.save("vid_0", CachedClip(np.ones((1, 2)), "c", np.ones(2), "t"))
    (cache.dir / "clips" / "vid" / "vid_0.npz").write_bytes(b"garbage")
    assert cache.load("vid_0") is None


def test_prompts_and_fingerprints(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, {"model": "m"})
    assert cache.load_prompts("p") is None
    cache.save_prompts("p", np.eye(3))
    np.testing.assert_array_equal(cache.load_prompts("p"), np.eye(3))
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 2_999_999 + b"y")
    assert file_fingerprint(a) != file_fingerprint(b) and file_fingerprint(a) == file_fingerprint(a)
    assert text_fingerprint("cut") != text_fingerprint("cut ")
