"""The open_clip adapter on a tiny random-weight model built here (no download): loading, hashing,
preprocessing real images of any size and mode, encoding, batching, and clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ophora_data.models.open_clip_adapter import (
    ModelUnavailable,
    OpenClipEncoder,
    resolve_device,
    weights_configured,
)
from tests.helpers.fake_encoder import TINY_OPEN_CLIP, build_tiny_open_clip

DIM = TINY_OPEN_CLIP["embed_dim"]
SIZE = TINY_OPEN_CLIP["vision_cfg"]["image_size"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("open_clip")
    return build_tiny_open_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def encoder(tiny_model: tuple[Path, Path]) -> OpenClipEncoder:
    return OpenClipEncoder.load(str(tiny_model[0]), str(tiny_model[1]), device="cpu", batch_size=4)


def test_load_records_name_and_weight_hash(tiny_model: tuple[Path, Path], encoder: OpenClipEncoder) -> None:
    assert encoder.name == "ophora-tiny-clip@ophora-tiny-clip.pt"  # the file name only, never the local path
    assert encoder.revision.startswith("weights-sha256:") and len(encoder.revision) == len("weights-sha256:") + 16
    assert OpenClipEncoder.load(str(tiny_model[0]), str(tiny_model[1]), device="cpu").revision == encoder.revision
    other = build_tiny_open_clip(tiny_model[0].parent / "other", seed=1)
    assert OpenClipEncoder.load(str(other[0]), str(other[1]), device="cpu").revision != encoder.revision
    assert encoder.device == "cpu" and 0 < encoder.logit_scale <= 100


def test_shapes_norms_and_batching_invariance(tiny_model: tuple[Path, Path], encoder: OpenClipEncoder) -> None:
    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 256, size=(n, 48, 80, 3), dtype=np.uint8) for n in (3, 1, 6)]
    inputs = [encoder.preprocess(frames) for frames in clips]
    assert [tuple(x.shape) for x in inputs] == [(3, 3, SIZE, SIZE), (1, 3, SIZE, SIZE), (6, 3, SIZE, SIZE)]
    embeddings = encoder.encode_images(inputs)
    assert [e.shape for e in embeddings] == [(3, DIM), (1, DIM), (6, DIM)]
    assert np.allclose(np.linalg.norm(np.concatenate(embeddings), axis=1), 1.0, atol=1e-5)
    texts = encoder.encode_texts(["grasp the capsule", "x " * 200])  # longer than the context: truncated
    assert texts.shape == (2, DIM) and np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)

    for batch_size in (1, 8):
        other = OpenClipEncoder.load(str(tiny_model[0]), str(tiny_model[1]), device="cpu", batch_size=batch_size)
        for mine, theirs in zip(embeddings, other.encode_images(inputs), strict=True):
            np.testing.assert_allclose(theirs, mine, atol=1e-5)
        np.testing.assert_allclose(other.encode_texts(["grasp the capsule", "x " * 200]), texts, atol=1e-5)


def test_real_images_of_any_size_and_mode(realdata: Path, encoder: OpenClipEncoder) -> None:
    files = ["surgical/cataract1k_frame_640x360.png",  # RGB, 16:9
             "surgical/cataract1k_fig4_irregularities_timestamped_frames.png",  # RGBA, very wide
             "surgical/cataractsam2_frames/0040.jpg",  # RGB JPEG, 1920x1080
             "nonsurgical/text_corner_skimage.png",  # grayscale (L)
             "nonsurgical/face_obama_face_recognition.jpg"]  # portrait
    images = [Image.open(realdata / name) for name in files]
    assert {image.mode for image in images} == {"RGB", "RGBA", "L"}
    pixels = encoder.preprocess(images)
    assert tuple(pixels.shape) == (len(files), 3, SIZE, SIZE) and bool(pixels.isfinite().all())
    # The same images as numpy arrays (H x W, H x W x 4, H x W x 3) give the same input.
    arrays = [np.asarray(image) for image in images]
    assert {a.ndim for a in arrays} == {2, 3} and any(a.ndim == 3 and a.shape[2] == 4 for a in arrays)
    assert bool((encoder.preprocess(arrays) == pixels).all())
    (embeddings,) = encoder.encode_images([pixels])
    assert embeddings.shape == (len(files), DIM) and np.isfinite(embeddings).all()


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch,
                                                 tiny_model: tuple[Path, Path]) -> None:
    monkeypatch.setitem(sys.modules, "open_clip", None)
    with pytest.raises(ModelUnavailable, match=r"pip install 'ophora-data\[vision\]'"):
        OpenClipEncoder.load(str(tiny_model[0]), str(tiny_model[1]))


def test_random_weights_are_refused_and_bad_sources_are_clear(tmp_path: Path, tiny_model: tuple[Path, Path]) -> None:
    assert not weights_configured("ViT-B-16", None)
    assert weights_configured("hf-hub:org/ophclip", None) and weights_configured("ViT-B-16", "openai")
    with pytest.raises(ModelUnavailable, match="no weights configured"):
        OpenClipEncoder.load("ViT-B-16", None)
    with pytest.raises(ModelUnavailable, match="checkpoint not found"):
        OpenClipEncoder.load(str(tiny_model[0]), str(tmp_path / "missing.pt"))
    with pytest.raises(ModelUnavailable, match="model config file not found"):
        OpenClipEncoder.load(str(tmp_path / "nope.json"), str(tiny_model[1]))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelUnavailable, match="could not load open_clip model"):
        OpenClipEncoder.load(str(tiny_model[0]), str(broken))
    with pytest.raises(ModelUnavailable, match="Offline machines"):
        OpenClipEncoder.load("ViT-B-16", "no-such-tag", device="cpu")


def test_device_resolution() -> None:
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelUnavailable, match="no CUDA device"):
            resolve_device("cuda")
