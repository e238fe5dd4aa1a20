"""Media helpers for tests: generated videos (hard cuts, VFR, rotation), full decodes as ground truth."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from ophora_data.config import Config
from ophora_data.run.workdir import RunDir


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args], check=True)


def x264(preset: str = "ultrafast") -> list[str]:
    return ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"]


def make_cut_video(
    out: Path,
    duration: float = 6.0,
    cut_at: float | None = 3.0,
    size: str = "320x240",
    fps: int = 25,
    audio: bool = True,
) -> Path:
    """testsrc2 (a moving pattern with a frame counter: every frame differs) with an optional
    hard cut at `cut_at` to the same pattern in negative colours (a new shot; frames still all differ)."""
    if cut_at is None:
        inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={duration}"]
        graph = "[0:v]null[v]"
    else:
        inputs = [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={fps}:duration={cut_at}",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={fps}:duration={duration - cut_at}",
        ]
        graph = "[1:v]negate[n];[0:v][n]concat=n=2:v=1:a=0[v]"
    audio_args: list[str] = []
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}"]
        audio_args = ["-map", f"{2 if cut_at is not None else 1}:a", "-c:a", "aac"]
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", *audio_args, *x264(), "-g", "50", str(out))
    return out


def make_still_video(
    out: Path, color: str = "black", duration: float = 3.0, size: str = "320x240", fps: int = 25
) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c={color}:size={size}:rate={fps}:duration={duration}", *x264(), str(out)
    )
    return out


def make_vfr_video(out: Path, size: str = "320x240") -> Path:
    """2 s at 10 fps, then 2 s at 30 fps, kept variable (no frame duplication)."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate=10:duration=2",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate=30:duration=2",
        "-filter_complex",
        "[0:v]settb=1/90000[a];[1:v]settb=1/90000[b];[a][b]concat=n=2:v=1:a=0[v]",
        "-map",
        "[v]",
        "-fps_mode",
        "vfr",
        *x264(),
        "-video_track_timescale",
        "90000",
        str(out),
    )
    return out


def rotate_tag(src: Path, out: Path, degrees: int) -> Path:
    """Copy the stream and set its display rotation (what phones write)."""
    ffmpeg("-i", str(src), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(out))
    return out


def probe_json(path: Path, *entries: str) -> dict:
    argv = ["ffprobe", "-v", "error", "-print_format", "json", *entries, str(path)]
    return json.loads(subprocess.run(argv, check=True, capture_output=True).stdout)


def display_size(path: Path) -> tuple[int, int]:
    """(width, height) after ffmpeg's autorotation, from the first decoded frame."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "image2pipe", "-c:v", "ppm", "-"],
        check=True,
        capture_output=True,
    ).stdout
    width, height = out.split(b"\n")[1].split()
    return int(width), int(height)


def decode_all(path: Path) -> np.ndarray:
    """Every frame as (N, H, W, 3) uint8 RGB, display orientation, with no frame-rate conversion."""
    width, height = display_size(path)
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def frame_times(path: Path) -> list[float]:
    """Presentation times of every video packet, sorted (ground truth for VFR tests)."""
    info = probe_json(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time")
    return sorted(float(p["pts_time"]) for p in info["packets"])


def frame_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def closest_frame(frame: np.ndarray, frames: np.ndarray) -> int:
    """Index of the frame in `frames` most like `frame` (robust to re-encoding loss)."""
    distances = np.abs(frames.astype(np.int16) - frame.astype(np.int16)[None]).mean(axis=(1, 2, 3))
    return int(np.argmin(distances))


def seed_cut_inputs(
    run: RunDir, config: Config, sources: dict[str, Path], windows: list[tuple[str, str, float, float]]
) -> None:
    """Write ok `probe` rows for `sources` and ok `segment` rows for (clip_id, video_id, start, end),
    under the hashes the cut stage will look for (no transcript or segmenter needed)."""
    from ophora_data.media.probe import probe_file
    from ophora_data.stages.registry import get_stage, stage_config_hash

    probe_hash = stage_config_hash(get_stage("probe"), config)
    segment_hash = stage_config_hash(get_stage("segment"), config)
    probe_rows = []
    for video_id, path in sources.items():
        try:
            meta = probe_file(path)
        except Exception:  # noqa: BLE001 - a corrupt source still gets an ok row: cut must cope
            meta = {"has_audio": None}
        probe_rows.append(
            {
                "video_id": video_id,
                "status": "ok",
                "reason": "",
                "path": str(path),
                **meta,
                "config_hash": probe_hash,
            }
        )
    run.table("probe").append(probe_rows)
    run.table("segment").append(
        [
            {
                "clip_id": clip_id,
                "video_id": video_id,
                "status": "ok",
                "reason": "",
                "start": start,
                "end": end,
                "duration_s": round(end - start, 3),
                "narration": "",
                "config_hash": segment_hash,
            }
            for clip_id, video_id, start, end in windows
        ]
    )
