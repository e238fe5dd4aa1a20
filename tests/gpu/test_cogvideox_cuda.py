"""CogVideoX on CUDA with the tiny pipeline: bf16 mixed-precision training steps (gradient checkpointing,
checkpoint and resume) and bf16 sampling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ophora_data.config import resolve_config
from ophora_data.config.tune import TuneConfig
from ophora_data.media.probe import probe_file

pytestmark = pytest.mark.gpu
PROMPTS = ["make a clear corneal incision", "insert lens into anterior chamber", "remove nucleus with phaco probe"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers")
    from tests.helpers.tiny_cogvideox import build_tiny_cogvideox

    return build_tiny_cogvideox(tmp_path_factory.mktemp("model") / "tiny-cogvideox")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.tiny_release import write_tiny_release

    return write_tiny_release(tmp_path_factory.mktemp("release") / "rel", PROMPTS, strict={1})


def gpu_cfg(model: Path, data: Path, *overrides: str) -> TuneConfig:
    sets = [f"tune.model={model}", f"tune.data={data}", "tune.frames=9", "tune.height=16", "tune.width=16",
            "tune.max_text_length=8", "tune.max_steps=3", "tune.warmup_steps=1", "tune.checkpoint_every=1",
            "tune.validation_every=null", "tune.mixed_precision=bf16", "tune.gradient_checkpointing=true",
            "tune.learning_rate=0.01"]
    return resolve_config(None, None, sets + list(overrides)).tune


def test_bf16_training_steps_checkpoint_and_resume_on_cuda(tiny_model: Path, release: Path, tmp_path: Path,
                                                           cuda_device: str) -> None:
    import torch
    from diffusers import CogVideoXTransformer3DModel

    from ophora_data.tuning.train import train

    out = tmp_path / "tpt"
    result = train(gpu_cfg(tiny_model, release), out, device=cuda_device)
    assert result.steps == 3 and math.isfinite(result.last_loss)
    tuned = CogVideoXTransformer3DModel.from_pretrained(out / "final" / "transformer")
    base = CogVideoXTransformer3DModel.from_pretrained(tiny_model / "transformer")
    weights = tuned.state_dict()
    assert all(t.dtype == torch.float32 for t in weights.values())  # bf16 autocast, fp32 master weights saved
    assert all(torch.isfinite(t).all() for t in weights.values())
    assert any(not torch.equal(base.state_dict()[k], v) for k, v in weights.items())
    resumed = train(gpu_cfg(tiny_model, release, "tune.max_steps=4"), out, device=cuda_device, resume="latest")
    assert resumed.steps == 4 and math.isfinite(resumed.last_loss)
    assert json.loads((out / "final" / "training_state.json").read_text())["steps"] == 4


def test_bf16_lora_training_with_validation_render_on_cuda(tiny_model: Path, release: Path, tmp_path: Path,
                                                           cuda_device: str) -> None:
    pytest.importorskip("peft")
    from ophora_data.tuning.train import train

    cfg = gpu_cfg(tiny_model, release, "tune.lora_rank=2", "tune.validation_every=1",
                  "tune.validation_inference_steps=2", "tune.max_steps=1")
    result = train(cfg, tmp_path / "lora", device=cuda_device)
    assert result.steps == 1 and (tmp_path / "lora" / "final" / "pytorch_lora_weights.safetensors").is_file()
    video = tmp_path / "lora" / "validation" / "step-000001" / "00.mp4"
    assert probe_file(video)["nb_frames"] == 9


def test_bf16_sampling_on_cuda(tiny_model: Path, tmp_path: Path, cuda_device: str) -> None:
    from ophora_data.tuning.prompts import Prompt
    from ophora_data.tuning.sample import SampleSettings, sample
    from ophora_data.tuning.video import decode_clip

    prompts = [Prompt(id=f"p{i}", text=text) for i, text in enumerate(PROMPTS[:2])]
    settings = SampleSettings(str(tiny_model), steps=2, frames=9, fps=8, height=16, width=16, dtype="bfloat16")
    written = sample(prompts, settings, tmp_path / "samples", device=cuda_device)
    assert [p.name for p in written] == ["p0.mp4", "p1.mp4"]
    for path in written:
        meta = probe_file(path)
        assert meta["nb_frames"] == 9 and meta["fps"] == 8.0 and (meta["width"], meta["height"]) == (16, 16)
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["dtype"] == "bfloat16" and sidecar["device"] == "cuda"
        assert tuple(decode_clip(path, 9, 8.0).shape) == (9, 3, 16, 16)  # a decodable video, every frame
