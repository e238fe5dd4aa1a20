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


class Interrupted(Exception):
    """Stands for a kill right after a checkpoint was written."""


def final_weights(out: Path) -> dict:
    from diffusers import CogVideoXTransformer3DModel

    return CogVideoXTransformer3DModel.from_pretrained(out / "final" / "transformer").state_dict()


def train_interrupted_after(cfg: TuneConfig, out: Path, stop_step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Train until the checkpoint of `stop_step` is on disk, then die as a killed process would."""
    from ophora_data.tuning import train as train_module

    real = train_module.save_checkpoint

    def save_then_die(accelerator, out_dir, step, loss, keep):
        path = real(accelerator, out_dir, step, loss, keep)
        if step == stop_step:
            raise Interrupted(step)
        return path

    with monkeypatch.context() as patch:
        patch.setattr(train_module, "save_checkpoint", save_then_die)
        with pytest.raises(Interrupted):
            train_module.train(cfg, out, device="cpu")


def resume_cfg(model: Path, data: Path) -> TuneConfig:
    return tiny_cfg(model, data, "tune.max_steps=4", "tune.learning_rate=0.01", "tune.keep_checkpoints=10")


@pytest.fixture(scope="module")
def uninterrupted(tiny_model: Path, release: Path, tmp_path_factory: pytest.TempPathFactory):
    from ophora_data.tuning.train import train

    return train(resume_cfg(tiny_model, release), tmp_path_factory.mktemp("whole"), device="cpu")


# 3 clips, batch 1: one epoch is 3 steps of 4. Stopping after step 2 resumes mid-epoch; after step 3,
# at an epoch boundary; both runs go on into the next epoch.
@pytest.mark.parametrize("stop_step", [2, 3])
def test_resume_continues_from_checkpoint_and_matches_an_uninterrupted_run(
    tiny_model: Path, release: Path, uninterrupted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_step: int
) -> None:
    import torch

    from ophora_data.tuning import train as train_module

    cfg, whole = resume_cfg(tiny_model, release), uninterrupted
    train_interrupted_after(cfg, tmp_path / "resumed", stop_step, monkeypatch)
    assert not (tmp_path / "resumed" / "final").exists()

    losses_computed = []
    real_loss = train_module.diffusion_loss

    def counting_loss(*args, **kwargs):
        losses_computed.append(1)
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(train_module, "diffusion_loss", counting_loss)
    resumed = train_module.train(cfg, tmp_path / "resumed", device="cpu", resume="latest")
    assert resumed.steps == 4 and len(losses_computed) == 4 - stop_step  # continued from the checkpoint's step
    assert resumed.last_loss == whole.last_loss
    for step in range(stop_step + 1, 5):  # every step after the resume saw the same batch, noise and lr
        marker = Path("checkpoints") / f"checkpoint-{step}" / "ophora_step.json"
        ours, theirs = (json.loads((root / marker).read_text()) for root in (tmp_path / "resumed", whole.out_dir))
        assert ours == theirs
    tuned, reference = final_weights(tmp_path / "resumed"), final_weights(whole.out_dir)
    assert tuned.keys() == reference.keys()
    different = [name for name in tuned if not torch.equal(tuned[name], reference[name])]
    assert different == [], f"resumed weights differ from an uninterrupted run in {different[:3]}"
    base = final_weights_of_base(tiny_model)
    assert any(not torch.equal(base[k], v) for k, v in tuned.items())  # training changed the weights at all
    state = json.loads((tmp_path / "resumed" / "final" / "training_state.json").read_text())
    assert state["steps"] == 4 and state["phase"] == "tpt"


@pytest.mark.slow  # three more tiny trainings; the default run covers resume without accumulation
def test_resume_mid_epoch_with_gradient_accumulation_matches_an_uninterrupted_run(
    tiny_model: Path, release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from ophora_data.tuning import train as train_module

    # 3 clips, 2 batches per optimizer step: step 1 ends mid-epoch, step 2 ends with the epoch's
    # last (single) batch, step 3 starts the next epoch.
    cfg = tiny_cfg(tiny_model, release, "tune.max_steps=3", "tune.learning_rate=0.01",
                   "tune.gradient_accumulation=2", "tune.keep_checkpoints=10")
    whole = train_module.train(cfg, tmp_path / "whole", device="cpu")
    train_interrupted_after(cfg, tmp_path / "resumed", 1, monkeypatch)
    resumed = train_module.train(cfg, tmp_path / "resumed", device="cpu", resume="latest")
    assert resumed.steps == 3 and resumed.last_loss == whole.last_loss
    tuned, reference = final_weights(tmp_path / "resumed"), final_weights(tmp_path / "whole")
    assert [k for k in tuned if not torch.equal(tuned[k], reference[k])] == []


def final_weights_of_base(model: Path) -> dict:
    from diffusers import CogVideoXTransformer3DModel

    return CogVideoXTransformer3DModel.from_pretrained(model / "transformer").state_dict()


def test_resume_with_more_steps_extends_a_finished_run(tiny_model: Path, release: Path, tmp_path: Path) -> None:
    from ophora_data.tuning.train import train

    out = tmp_path / "tpt"
    result = train(tiny_cfg(tiny_model, release), out, device="cpu")
    assert result.steps == 2 and math.isfinite(result.last_loss)
    assert (out / "checkpoints" / "checkpoint-2" / "ophora_step.json").is_file()
    assert (out / "final" / "transformer" / "config.json").is_file()
    resumed = train(tiny_cfg(tiny_model, release, "tune.max_steps=3"), out, device="cpu", resume="latest")
    assert resumed.steps == 3 and math.isfinite(resumed.last_loss)
    assert json.loads((out / "final" / "training_state.json").read_text())["steps"] == 3


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_model: Path, release: Path, tmp_path: Path) -> None:
    from ophora_data.tuning.train import train

    with pytest.raises(TuningError, match="no checkpoint under"):
        train(tiny_cfg(tiny_model, release), tmp_path / "empty", device="cpu", resume="latest")


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
