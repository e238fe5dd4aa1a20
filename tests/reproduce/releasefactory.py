"""A real `build --no-media` release made in a test, from a generated source video.

ingest, download (a local link), probe and cut are the real stages; segment, caption, privacy
and decide rows are written as those stages would (privacy boxes file + the real redaction
encoder on one clip), so the manifest holds what a pipeline run records. Sources are generated
with ffmpeg (testsrc2: moving content, so a shifted window shows other frames).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from builders.release import ReleaseResult, build_release
from ophora_data.config import Config, resolve_config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.privacy.boxes import Box, ClipDetections
from ophora_data.privacy.redact import encode_redacted, publish_unchanged
from ophora_data.privacy.smoothing import boxes_per_frame
from ophora_data.run.workdir import RunDir
from ophora_data.stages.cut import CutStage
from ophora_data.stages.download import DownloadStage
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from ophora_data.stages.registry import get_stage, stage_config_hash

SECONDS, SIZE, FPS = 16.0, "320x240", 12
# Five windows; `REPLACED` overlaps the 2nd by its last frame only (none of its hashed frames: the
# per-frame cells must catch it) and the 3rd by 0.6 s.
WINDOWS = [(0.5, 3.0), (3.5, 6.2), (7.0, 9.4), (10.0, 12.6), (13.2, 15.5)]
REPLACED = (6.1, 7.6)
BLURRED_CLIP = 3  # this clip gets a redaction box (the privacy stage found "text" in it)
INSTRUCTIONS = ["Make a clear corneal incision.", "Inject viscoelastic into the anterior chamber.",
                "Complete the capsulorhexis with forceps.", "Emulsify the nucleus with the phaco tip.",
                "Aspirate the remaining cortex."]
OPTIONS = RunOptions(progress=False)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-nostdin", "-loglevel", "error", *args], check=True)


def make_source(path: Path) -> Path:
    """16 s of testsrc2 (moving) at 320x240, 12 fps, with a tone: the 'original' source."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={FPS}:duration={SECONDS}", "-f", "lavfi", "-i",
           f"sine=frequency=440:duration={SECONDS}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path))
    return path


def reencoded(source: Path, out: Path) -> Path:
    """What a platform does: another resolution and a much lower quality."""
    ffmpeg("-i", str(source), "-vf", "scale=480:360", "-c:v", "libx264", "-preset", "fast", "-crf", "35",
           "-c:a", "aac", str(out))
    return out


def trimmed(source: Path, out: Path, seconds: float = 1.0) -> Path:
    """The first `seconds` cut off."""
    ffmpeg("-ss", f"{seconds}", "-i", str(source), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
           "-c:a", "aac", str(out))
    return out


def scene_replaced(source: Path, out: Path, span: tuple[float, float] = REPLACED) -> Path:
    """Other footage over [span) (a Mandelbrot zoom), the rest untouched."""
    start, end = span
    ffmpeg("-i", str(source), "-f", "lavfi", "-i", f"mandelbrot=size={SIZE}:rate={FPS}",
           "-filter_complex", f"[0:v][1:v]overlay=enable='between(t,{start},{end - 0.001})':shortest=1[v]",
           "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "aac",
           str(out))
    return out


def clips_overlapping(span: tuple[float, float]) -> set[int]:
    return {i for i, (a, b) in enumerate(WINDOWS) if a < span[1] and b > span[0]}


def write_rows(run: RunDir, config: Config, stage: str, rows: list[dict]) -> None:
    config_hash = stage_config_hash(get_stage(stage), config)
    run.table(stage).append([{**row, "config_hash": config_hash, "updated_at": "2026-11-20T00:00:00+00:00",
                              "retryable": False} for row in rows])


@dataclass(frozen=True)
class MadeRelease:
    run: RunDir
    config: Config
    source: Path
    video_id: str
    clip_ids: list[str]
    result: ReleaseResult

    @property
    def folder(self) -> Path:
        return self.result.out_dir


def _privacy(run: RunDir, config: Config, clip_id: str, video_id: str, blurred: bool) -> list[dict]:
    cut_clip, dest = run.clip(clip_id), run.redacted_clip(clip_id)
    frames = int(subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
                                 "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(cut_clip)],
                                capture_output=True, text=True, check=True).stdout.strip())
    found = ClipDetections(320, 240, float(FPS), frames,
                           {0: [Box(20, 180, 120, 30, "text")], 5: [Box(24, 182, 118, 28, "text")]} if blurred
                           else {0: []})
    hold, dilation = config.privacy.hold, config.privacy.box_dilation
    if blurred:
        encode_redacted(cut_clip, dest, boxes_per_frame(found, hold, dilation), config.privacy)
    else:
        publish_unchanged(cut_clip, dest)
    boxes = run.root / "privacy" / f"{clip_id}.json"
    boxes.parent.mkdir(parents=True, exist_ok=True)
    boxes.write_text(json.dumps({"clip_id": clip_id, "passes": 1 if blurred else 0, "hold_frames": hold,
                                 "box_dilation": dilation, "detected": found.to_json(), "redacted": found.to_json()}))
    common = {"clip_id": clip_id, "video_id": video_id, "redacted_path": run.relative(dest),
              "privacy_strict": not blurred, "boxes_path": run.relative(boxes), "mode": "blur"}
    return [{**common, "status": "ok", "reason": "", "check": "verification", "value": 1.0, "threshold": 1.0,
             "op": "==", "passed": True}]


def make_release(root: Path, *overrides: str) -> MadeRelease:
    """Source -> run (real ingest/download/probe/cut) -> `build --no-media` release in `root/release`."""
    config = resolve_config(None, None, ["build.shard_multiple=1", "probe.hash_files=true", *overrides])
    source = make_source(root / "sources" / "case.mp4")
    run = RunDir(root / "run").create()
    run.save_config(config)
    run_stage(IngestStage(config, run, sources=[str(source)]), OPTIONS)
    run_stage(DownloadStage(config, run), OPTIONS)
    run_stage(ProbeStage(config, run), OPTIONS)
    video_id = run.table("ingest").all_rows()[0]["video_id"]
    clip_ids = [f"{video_id}_{i}" for i in range(len(WINDOWS))]
    write_rows(run, config, "segment", [
        {"clip_id": c, "video_id": video_id, "status": "ok", "reason": "", "start": a, "end": b,
         "duration_s": b - a, "narration": INSTRUCTIONS[i], "word_count": 5, "speech_rate": 2.0}
        for i, (c, (a, b)) in enumerate(zip(clip_ids, WINDOWS, strict=True))])
    write_rows(run, config, "caption", [
        {"clip_id": c, "video_id": video_id, "status": "ok", "reason": "", "instruction": INSTRUCTIONS[i],
         "attributes": {"surgical_phase": f"phase{i}"}, "captioner": "rules", "model": "rules-v1",
         "prompt_version": "p1", "schema_version": "1"} for i, c in enumerate(clip_ids)])
    run_stage(CutStage(config, run), OPTIONS)
    privacy = [row for i, c in enumerate(clip_ids) for row in _privacy(run, config, c, video_id, i == BLURRED_CLIP)]
    write_rows(run, config, "privacy", privacy)
    write_rows(run, config, "decide", [
        {"clip_id": c, "video_id": video_id, "status": "ok", "reason": "", "decision": "kept", "reasons": [],
         "subsets": ["default"] if i == BLURRED_CLIP else ["default", "strict"], "decision_set_id": "ds-repro1"}
        for i, c in enumerate(clip_ids)])
    result = build_release(run, config, media=False)
    return MadeRelease(run, config, source, video_id, clip_ids, result)
