from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.media.probe import probe_file
from ophora_data.media.runner import MediaError
from ophora_data.run.ids import file_content_hash
from ophora_data.run.workdir import RunDir
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from tests.conftest import MakeVideo, make_config


def corrupt_files(folder: Path, make_video: MakeVideo) -> dict[str, Path]:
    good = make_video("good.mp4", duration=2.0)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    text = folder / "text.mp4"
    text.write_text("this is not a video\n" * 20)
    audio = folder / "audio_only.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)],
        check=True,
    )
    return {"truncated": truncated, "empty": empty, "text": text, "audio": audio, "good": good}


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("truncated", "truncated"), ("empty", "empty file"), ("text", "not a media file"), ("audio", "audio-only")],
)
def test_corrupt_files_give_readable_reasons(tmp_path: Path, make_video: MakeVideo, kind: str, reason: str) -> None:
    files = corrupt_files(tmp_path, make_video)
    with pytest.raises(MediaError, match=reason):
        probe_file(files[kind])


def test_probe_metadata(make_video: MakeVideo) -> None:
    meta = probe_file(make_video("v.mp4", duration=2.0, size="320x240", fps=25))
    assert (meta["width"], meta["height"], meta["fps"], meta["has_audio"]) == (320, 240, 25.0, True)
    assert abs(meta["duration_s"] - 2.0) < 0.1 and meta["codec"] == "h264" and meta["rotation"] == 0


def test_rotation_metadata(make_video: MakeVideo, tmp_path: Path) -> None:
    source = make_video("v.mp4", duration=1.0, audio=False)
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(source),
            "-metadata:s:v:0",
            "rotate=90",
            "-c",
            "copy",
            str(rotated),
        ],
        check=True,
    )
    assert probe_file(rotated)["rotation"] in (90, 270)


def test_stage_writes_failed_rows_and_keeps_going(run_dir: RunDir, tmp_path: Path, make_video: MakeVideo) -> None:
    files = corrupt_files(tmp_path, make_video)
    config = make_config()
    run_stage(IngestStage(config, run_dir, [str(p) for p in files.values()]), RunOptions(progress=False))
    result = run_stage(ProbeStage(config, run_dir), RunOptions(progress=False, workers=2))
    assert result.status_counts == {"ok": 1, "failed": 4}
    rows = {Path(r["path"]).name: r for r in run_dir.table("probe").all_rows()}
    assert rows["good.mp4"]["sha256"] == file_content_hash(files["good"]) and rows["good.mp4"]["width"] == 320
    assert "audio-only" in rows["audio_only.mp4"]["reason"]
    assert rows["empty.mp4"]["retryable"] is False
