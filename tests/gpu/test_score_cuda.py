"""`score` end to end on CUDA: decode threads fill the bounded prefetch queue while the fp16 model encodes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry
from ophora_data.stages import score as score_module
from ophora_data.stages.registry import stage_config_hash
from ophora_data.stages.score import ScoreStage
from tests.conftest import make_config
from tests.helpers.fake_encoder import build_tiny_open_clip

pytestmark = pytest.mark.gpu
COLOURS = ("red", "green", "blue", "yellow", "white", "gray")
CLIPS = 6  # more clips than the prefetch depth, so the queue fills and drains


def add_clip(run: RunDir, config: Config, index: int) -> None:
    """One cut clip (two solid colours, 1 s each at 10 fps) with its ok `cut` and `caption` rows."""
    clip_id = f"vidA_{index}"
    out = run.clip(clip_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    first, second = COLOURS[index % len(COLOURS)], COLOURS[(index + 1) % len(COLOURS)]
    inputs = []
    for colour in (first, second):
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:size=96x64:rate=10:duration=1"]
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *inputs, "-filter_complex",
                    "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    common = {"clip_id": clip_id, "video_id": "vidA", "status": "ok", "reason": ""}
    run.table("cut").append([{**common, "path": run.relative(out), "start": 2.0 * index, "end": 2.0 * index + 2,
                              "config_hash": stage_config_hash(registry.get_stage("cut"), config)}])
    run.table("caption").append([{**common, "instruction": f"grasp the {first} capsule",
                                  "config_hash": stage_config_hash(registry.get_stage("caption"), config)}])


def score(tmp: Path, model: tuple[Path, Path], device: str) -> tuple[ScoreStage, dict]:
    config = make_config(f"score.model={model[0]}", f"score.pretrained={model[1]}", f"score.device={device}",
                         "score.frames=4", "score.batch_size=8", "score.prefetch=2", "score.decode_workers=2")
    run = RunDir(tmp / device).create()
    for index in range(CLIPS):
        add_clip(run, config, index)
    stage = ScoreStage(config, run)
    result = run_stage(stage, RunOptions(progress=False))
    assert result.processed == CLIPS and result.status_counts["failed"] == 0
    rows = run.table("score").current("clip_id", stage_config_hash(ScoreStage, config))
    return stage, {(r["clip_id"], r["check"]): r for r in rows}


def test_score_end_to_end_on_cuda_with_the_prefetch_queue(tmp_path: Path, cuda_device: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("open_clip")
    model = build_tiny_open_clip(tmp_path / "tiny-clip")
    queues: list[tuple[int, int, int]] = []
    real_prefetch = score_module.prefetch

    def recording_prefetch(items, load, workers, depth):
        items = list(items)
        queues.append((len(items), workers, depth))
        yield from real_prefetch(items, load, workers, depth)

    monkeypatch.setattr(score_module, "prefetch", recording_prefetch)
    stage, gpu_rows = score(tmp_path, model, cuda_device)
    assert stage.encoder.device == "cuda"
    assert sum(n for n, _, _ in queues) == CLIPS and {(w, d) for _, w, d in queues} == {(2, 2)}
    assert stage.encoded["clips"] == CLIPS and stage.encoded["frames"] == 4 * CLIPS
    assert {check for _, check in gpu_rows} >= {"clip_text_similarity", "surgical_content", "near_duplicate"}

    _, cpu_rows = score(tmp_path, model, "cpu")
    assert gpu_rows.keys() == cpu_rows.keys()
    for key, row in gpu_rows.items():
        assert row["model_revision"] == cpu_rows[key]["model_revision"]  # same weights, whatever the device
        assert row["value"] == pytest.approx(cpu_rows[key]["value"], abs=2e-2), key  # fp16 vs fp32
