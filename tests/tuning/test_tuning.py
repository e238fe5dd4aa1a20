"""Tiny random CogVideoX on CPU: training steps, checkpoints, resume, phase 2, latents cache, sampling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ophora_data.config import resolve_config
from ophora_data.config.tune import TuneConfig
from ophora_data.media.probe import probe_file
from ophora_data.tuning.errors import TuningError

pytest.importorskip("diffusers")

PROMPTS = ["make a clear corneal incision", "insert lens into anterior chamber", "remove nucleus with phaco probe"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.tiny_cogvideox import build_tiny_cogvideox

    return build_tiny_cogvideox(tmp_path_factory.mktemp("model") / "tiny-cogvideox")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.tiny_release import write_tiny_release

    return write_tiny_release(tmp_path_factory.mktemp("release") / "rel", PROMPTS, strict={1})


def tiny_cfg(model: Path, data: Path, *overrides: str) -> TuneConfig:
    base = [
        f"tune.model={model}",
        f"tune.data={data}",
        "tune.frames=9",
        "tune.height=16",
        "tune.width=16",
        "tune.max_text_length=8",
        "tune.max_steps=2",
        "tune.warmup_steps=1",
        "tune.checkpoint_every=1",
        "tune.validation_every=null",
        "tune.mixed_precision=no",
        "tune.gradient_checkpointing=false",
    ]
    return resolve_config(None, None, base + list(overrides)).tune


def test_two_steps_checkpoint_and_resume(tiny_model: Path, release: Path, tmp_path: Path) -> None:
    from ophora_data.tuning.train import train

    out = tmp_path / "tpt"
    result = train(tiny_cfg(tiny_model, release), out, device="cpu")
    assert result.steps == 2 and math.isfinite(result.last_loss)
    assert (out / "checkpoints" / "checkpoint-2" / "ophora_step.json").is_file()
    assert (out / "final" / "transformer" / "config.json").is_file()
    resumed = train(tiny_cfg(tiny_model, release, "tune.max_steps=3"), out, device="cpu", resume="latest")
    assert resumed.steps == 3 and math.isfinite(resumed.last_loss)
    state = json.loads((out / "final" / "training_state.json").read_text())
    assert state["steps"] == 3 and state["phase"] == "tpt"


def test_phase_two_starts_from_phase_one_weights(tiny_model: Path, release: Path, tmp_path: Path) -> None:
    import torch
    from diffusers import CogVideoXTransformer3DModel

    from ophora_data.tuning.components import load_components
    from ophora_data.tuning.train import train

    phase1 = tmp_path / "tpt"
    train(tiny_cfg(tiny_model, release, "tune.learning_rate=0.05"), phase1, device="cpu")
    cfg2 = tiny_cfg(tiny_model, release, "tune.phase=p2ft", "tune.subset=strict", f"tune.init_transformer={phase1}")
    loaded = load_components(cfg2, "cpu").transformer
    tuned = CogVideoXTransformer3DModel.from_pretrained(phase1 / "final" / "transformer")
    base = CogVideoXTransformer3DModel.from_pretrained(tiny_model / "transformer")
    name, weight = next(iter(tuned.state_dict().items()))
    assert torch.equal(loaded.state_dict()[name], weight)
    assert any(not torch.equal(base.state_dict()[k], v) for k, v in tuned.state_dict().items())
    result = train(cfg2, tmp_path / "p2ft", device="cpu")
    assert result.steps == 2 and math.isfinite(result.last_loss)


def test_latents_cache_is_reused(tiny_model: Path, release: Path, tmp_path: Path) -> None:
    from ophora_data.tuning.train import train

    cfg = tiny_cfg(tiny_model, release, "tune.precompute_latents=true", "tune.max_steps=1")
    first = train(cfg, tmp_path / "out", device="cpu")
    assert first.latents == {"computed": 3, "reused": 0}
    second = train(cfg, tmp_path / "out", device="cpu")
    assert second.latents == {"computed": 0, "reused": 3}


def test_streaming_and_lora_with_validation(tiny_model: Path, release: Path, tmp_path: Path) -> None:
    from ophora_data.tuning.train import train

    cfg = tiny_cfg(
        tiny_model,
        release,
        "tune.streaming=true",
        "tune.lora_rank=2",
        "tune.validation_every=1",
        "tune.validation_inference_steps=2",
        "tune.max_steps=1",
    )
    result = train(cfg, tmp_path / "lora", device="cpu")
    assert (tmp_path / "lora" / "final" / "pytorch_lora_weights.safetensors").is_file()
    video = tmp_path / "lora" / "validation" / "step-000001" / "00.mp4"
    assert probe_file(video)["nb_frames"] == 9 and result.steps == 1


def test_sample_writes_mp4s_with_requested_frames_and_fps(tiny_model: Path, tmp_path: Path, realdata: Path) -> None:
    from ophora_data.tuning.prompts import read_prompts
    from ophora_data.tuning.sample import SampleSettings, sample

    prompts = read_prompts(realdata / "text" / "ophora_cataract1k_phase_prompts.csv")[:2]
    settings = SampleSettings(str(tiny_model), steps=2, frames=9, fps=8, height=16, width=16, dtype="float32")
    written = sample(prompts, settings, tmp_path / "samples", device="cpu")
    assert len(written) == 2
    for path in written:
        meta = probe_file(path)
        assert meta["nb_frames"] == 9 and meta["fps"] == 8.0
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["guidance_scale"] == 6.0 and sidecar["prompt"]


def test_prompt_files(tmp_path: Path) -> None:
    from ophora_data.tuning.prompts import read_prompts

    (tmp_path / "p.txt").write_text("first prompt\n\nsecond prompt\n")
    assert [p.text for p in read_prompts(tmp_path / "p.txt")] == ["first prompt", "second prompt"]
    (tmp_path / "p.csv").write_text("phase prompt,clip id,caption prompt\nIncision,c1,Make an incision.\n")
    assert read_prompts(tmp_path / "p.csv")[0].id == "c1"
    with pytest.raises(TuningError, match="no column 'wrong'"):
        read_prompts(tmp_path / "p.csv", column="wrong")


def test_no_gpu_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from ophora_data.tuning.errors import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TuningError, match="--device cpu"):
        resolve_device("auto")


def test_config_rejects_bad_frame_count() -> None:
    from ophora_data.config import ConfigError

    with pytest.raises(ConfigError, match="4k\\+1"):
        resolve_config(None, None, ["tune.frames=48"])


def test_paper_phase_configs() -> None:
    from ophora_data.paths import CONFIGS_DIR

    tpt = resolve_config(None, CONFIGS_DIR / "tune_tpt.yaml").tune
    p2ft = resolve_config(None, CONFIGS_DIR / "tune_p2ft.yaml").tune
    assert (tpt.learning_rate, tpt.max_steps, tpt.warmup_steps, tpt.subset) == (1e-4, 65000, 800, "default")
    assert (p2ft.learning_rate, p2ft.max_steps, p2ft.subset) == (5e-5, 4500, "strict") and p2ft.init_transformer
