"""open_clip on CUDA: the adapter casts to float16 on a GPU; embeddings agree with the fp32 CPU model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.models.open_clip_adapter import OpenClipEncoder
from tests.helpers.fake_encoder import TINY_OPEN_CLIP, build_tiny_open_clip

pytestmark = pytest.mark.gpu
DIM = TINY_OPEN_CLIP["embed_dim"]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_fp16_encode_on_cuda_agrees_with_fp32_cpu(tmp_path: Path, cuda_device: str) -> None:
    import torch

    pytest.importorskip("open_clip")
    config, checkpoint = build_tiny_open_clip(tmp_path / "tiny-clip")
    gpu = OpenClipEncoder.load(str(config), str(checkpoint), device=cuda_device, batch_size=4)
    cpu = OpenClipEncoder.load(str(config), str(checkpoint), device="cpu", batch_size=4)
    assert gpu.device == "cuda" and gpu.dtype == torch.float16 and cpu.dtype == torch.float32
    assert gpu.revision == cpu.revision  # hashed before the fp16 cast: one revision for CPU and GPU runs
    assert gpu.cache_key != cpu.cache_key  # fp16 embeddings never mix with fp32 ones in the cache

    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 256, size=(n, 48, 80, 3), dtype=np.uint8) for n in (3, 1, 6)]  # 10 frames, batch 4
    on_gpu = gpu.encode_images([gpu.preprocess(frames) for frames in clips])
    on_cpu = cpu.encode_images([cpu.preprocess(frames) for frames in clips])
    assert [e.shape for e in on_gpu] == [(3, DIM), (1, DIM), (6, DIM)]
    for mine, reference in zip(on_gpu, on_cpu, strict=True):
        assert mine.dtype == np.float32 and np.isfinite(mine).all()
        assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-2)
        assert cosines(mine, reference).min() > 0.99
    texts = ["grasp the capsule", "x " * 200]  # longer than the context: truncated
    text_gpu, text_cpu = gpu.encode_texts(texts), cpu.encode_texts(texts)
    assert text_gpu.shape == (2, DIM) and np.isfinite(text_gpu).all()
    assert cosines(text_gpu, text_cpu).min() > 0.99
