from __future__ import annotations

import hashlib
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
    assert text_fingerprint("cut") != text_fingerprint("cut ")


def test_file_fingerprint_is_the_content_hash(tmp_path: Path) -> None:
    content = bytes(range(256)) * 12_000  # ~3 MB: several 1 MiB chunks
    a = tmp_path / "a.bin"
    a.write_bytes(content)
    expected = hashlib.blake2b(content, digest_size=16).hexdigest()  # independent of chunking
    assert file_fingerprint(a) == expected
    assert file_fingerprint(a, chunk_bytes=4096) == expected
    moved = tmp_path / "moved" / "renamed.mp4"  # a run directory that moved keeps its cache
    moved.parent.mkdir()
    moved.write_bytes(content)
    assert file_fingerprint(moved) == expected
    # Same size, one byte changed at the start, the middle or the end: a recut clip is encoded again.
    for offset in (0, len(content) // 2, len(content) - 1):
        changed = bytearray(content)
        changed[offset] ^= 0xFF
        b = tmp_path / f"b{offset}.bin"
        b.write_bytes(bytes(changed))
        assert file_fingerprint(b) != expected, offset
