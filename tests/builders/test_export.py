"""`export_trainer`: the CogVideoX / finetrainers layout, read back; re-encoding to 49 frames at 8 fps."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from builders.export import ExportError, ExportOptions, export_trainer
from builders.release import build_release
from tests.builders.runfactory import make_release_run, release_config


@pytest.fixture
def release(tmp_path: Path) -> Path:
    config = release_config("build.verify=false")
    return build_release(make_release_run(tmp_path / "run", config), config).out_dir


def _frames_and_size(path: Path) -> tuple[int, int, int, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames,width,height,r_frame_rate", "-of", "json", str(path)],
                         check=True, capture_output=True).stdout
    stream = json.loads(out)["streams"][0]
    return int(stream["nb_read_frames"]), stream["width"], stream["height"], stream["r_frame_rate"]


def test_export_layout_reads_back(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = export_trainer(release, out)
    videos = (out / "videos.txt").read_text().splitlines()
    prompts = (out / "prompts.txt").read_text().splitlines()
    assert videos == ["videos/local-0123456789abcdef_0.mp4", "videos/vidAAAAAAAA_0.mp4", "videos/vidAAAAAAAA_1.mp4",
                      "videos/vidAAAAAAAA_10.mp4"]
    assert prompts[1] == "Make a clear corneal incision with the keratome." and len(prompts) == 4
    assert all((out / v).is_file() and (out / v).stat().st_size > 0 for v in videos)
    assert (result.count, result.written, result.skipped) == (4, 4, 0)

    rerun = export_trainer(release, out)  # same options: resumes, nothing rewritten
    assert (rerun.written, rerun.skipped) == (0, 4)
    with pytest.raises(ExportError, match="other options"):
        export_trainer(release, out, ExportOptions(subset="strict"))
    strict = export_trainer(release, out, ExportOptions(subset="strict"), overwrite=True)
    assert strict.count == 2 and len(list((out / "videos").iterdir())) == 2


def test_reencode_to_training_shape(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    opts = ExportOptions(subset="strict", reencode=True, height=48, width=72, frames=9, fps=8)
    export_trainer(release, out, opts, workers=2)
    for line in (out / "videos.txt").read_text().splitlines():
        # 1 s and 1.5 s clips at 8 fps are shorter than 9 frames: the last frame is repeated.
        assert _frames_and_size(out / line) == (9, 72, 48, "8/1")


def test_refuses_unknown_subset_and_missing_release(release: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no media config 'audit'"):
        export_trainer(release, tmp_path / "x", ExportOptions(subset="audit"))
    assert not (tmp_path / "x").exists()
    with pytest.raises(ExportError, match="not a built release"):
        export_trainer(tmp_path / "nothing", tmp_path / "y")
