from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.tables import group_by, key_status
from ophora_data.run.workdir import RunDir
from ophora_data.stages.cut import CutStage
from ophora_data.stages.quality import QualityStage
from tests.conftest import make_config
from tests.helpers.media import make_cut_video, make_still_video, seed_cut_inputs

QUIET = RunOptions(progress=False)
CHECKS = {
    "width",
    "height",
    "duration_s",
    "scene_cuts",
    "content_change_mean",
    "black_fraction",
    "frozen_fraction",
}
# Small generated clips: the resolution bounds are lowered so the other checks can be seen passing.
SMALL = ("quality.width.min=300", "quality.height.min=200")


def cut_and_check(
    run: RunDir, config: Config, sources: dict[str, Path], windows: list[tuple[str, str, float, float]]
) -> dict[str, dict[str, dict]]:
    """{clip_id: {check: row}} after running cut then quality."""
    seed_cut_inputs(run, config, sources, windows)
    run_stage(CutStage(config, run), QUIET)
    run_stage(QualityStage(config, run), QUIET)
    rows = QualityStage(config, run).upstream_rows("quality")
    return {clip: {r["check"]: r for r in clip_rows} for clip, clip_rows in group_by(rows, "clip_id").items()}


@pytest.fixture(scope="module")
def cut_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cut_video(tmp_path_factory.mktemp("q") / "cut.mp4", duration=8.0, cut_at=4.0, audio=False)


def test_a_clean_clip_passes_every_check(run_dir: RunDir, cut_source: Path) -> None:
    checks = cut_and_check(run_dir, make_config(*SMALL), {"v": cut_source}, [("v_0", "v", 0.5, 3.5)])["v_0"]
    assert set(checks) == CHECKS
    assert all(row["passed"] and row["status"] == "ok" for row in checks.values()), checks
    assert checks["width"]["value"] == 320 and checks["duration_s"]["value"] == pytest.approx(3.0, abs=0.04)
    assert checks["scene_cuts"]["value"] == 0 and checks["scene_cuts"]["model"].startswith("PySceneDetect")
    assert checks["black_fraction"]["value"] == 0 and checks["frozen_fraction"]["value"] == 0
    assert checks["content_change_mean"]["content_change_max"] >= checks["content_change_mean"]["value"] > 0


def test_hard_cut_inside_a_clip_is_counted(run_dir: RunDir, cut_source: Path) -> None:
    config = make_config(*SMALL, "quality.scene_cuts.max=0")
    checks = cut_and_check(run_dir, config, {"v": cut_source}, [("v_1", "v", 2.0, 6.0)])["v_1"]
    row = checks["scene_cuts"]
    assert row["value"] == 1 and not row["passed"] and row["status"] == "rejected"
    assert row["reason"].startswith("scene_cuts 1 not <= 0") and row["op"] == "<=" and row["threshold"] == 0
    assert checks["content_change_mean"]["content_change_max"] > 27  # the cut itself


def test_black_and_frozen_clips_are_rejected(run_dir: RunDir, tmp_path: Path) -> None:
    black = make_still_video(tmp_path / "black.mp4", "black", duration=4.0)
    grey = make_still_video(tmp_path / "grey.mp4", "gray", duration=4.0)
    result = cut_and_check(
        run_dir,
        make_config(*SMALL),
        {"b": black, "g": grey},
        [("b_0", "b", 0.0, 3.0), ("g_0", "g", 0.0, 3.0)],
    )
    assert result["b_0"]["black_fraction"]["value"] == pytest.approx(1.0)
    assert not result["b_0"]["black_fraction"]["passed"]
    assert result["g_0"]["black_fraction"]["value"] == 0
    assert result["g_0"]["frozen_fraction"]["value"] == pytest.approx(1.0)
    assert result["g_0"]["frozen_fraction"]["reason"] == "frozen_fraction 1 not <= 0.8"


def test_duration_bounds(run_dir: RunDir, cut_source: Path) -> None:
    result = cut_and_check(
        run_dir, make_config(*SMALL), {"v": cut_source}, [("v_0", "v", 0.0, 1.0), ("v_1", "v", 0.0, 2.5)]
    )
    assert not result["v_0"]["duration_s"]["passed"] and result["v_0"]["duration_s"]["op"] == "between"
    assert result["v_1"]["duration_s"]["passed"]


def test_missing_clip_file_is_a_failed_row(run_dir: RunDir, cut_source: Path) -> None:
    config = make_config(*SMALL)
    seed_cut_inputs(run_dir, config, {"v": cut_source}, [("v_0", "v", 0.0, 2.5)])
    run_stage(CutStage(config, run_dir), QUIET)
    run_dir.clip("v_0").unlink()
    run_stage(QualityStage(config, run_dir), QUIET)
    rows = QualityStage(config, run_dir).upstream_rows("quality")
    assert [r["status"] for r in rows] == ["failed"] and "missing" in rows[0]["reason"]


def test_real_224px_cataract_clip_fails_resolution_with_that_reason(run_dir: RunDir, realdata: Path) -> None:
    real = realdata / "surgical" / "cataract1k_case4687_capsulorhexis_52.50-57.50s_224px.mp4"
    checks = cut_and_check(run_dir, make_config(), {"c": real}, [("c_0", "c", 0.0, 5.0)])["c_0"]
    assert key_status(list(checks.values())) == "rejected"
    assert checks["width"]["reason"].startswith("width 224 not >= 720")
    assert checks["height"]["reason"].startswith("height 224 not >= 480")
    failing = {name for name, row in checks.items() if not row["passed"]}
    assert failing == {"width", "height"}  # real surgery: no cut, not black, not frozen


def test_video_from_real_frames_passes(run_dir: RunDir, realdata: Path, tmp_path: Path) -> None:
    frames = realdata / "surgical" / "cataractsam2_frames"
    video = tmp_path / "sam2.mp4"
    # The 8 real frames, 0.5 s apart, cross-faded to 30 fps (a held frame would rightly count as frozen).
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-framerate",
            "2",
            "-pattern_type",
            "glob",
            "-i",
            str(frames / "*.jpg"),
            "-vf",
            "scale=960:540,minterpolate=fps=30:mi_mode=blend",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(video),
        ],
        check=True,
    )
    checks = cut_and_check(run_dir, make_config(), {"s": video}, [("s_0", "s", 0.0, 3.0)])["s_0"]
    assert set(checks) == CHECKS
    assert all(row["passed"] for row in checks.values()), {n: r["reason"] for n, r in checks.items()}
    assert (checks["width"]["value"], checks["height"]["value"]) == (960, 540)
