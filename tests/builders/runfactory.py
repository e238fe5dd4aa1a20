"""A run directory made by a test for the release builder: tiny generated clips + crafted rows.

Rows are written under `stage_config_hash(get_stage(name), config)`, exactly what `build`
reads.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ophora_data.config import Bound, Config, resolve_config
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import check_row, flag_row
from ophora_data.stages.registry import get_stage, stage_config_hash


@dataclass
class ClipSpec:
    clip_id: str
    video_id: str
    instruction: str = "Insert the phaco tip into the anterior chamber."
    kept: bool = True
    strict: bool = True
    verified: bool = True
    phase: str = "phacoemulsification"
    seconds: float = 1.0
    scores: dict[str, float] | None = None
    extra_attributes: dict[str, Any] = field(default_factory=dict)


def default_specs() -> list[ClipSpec]:
    return [
        ClipSpec("vidAAAAAAAA_0", "vidAAAAAAAA", "Make a clear corneal incision with the keratome.",
                 phase="incision"),
        ClipSpec("vidAAAAAAAA_1", "vidAAAAAAAA", "Stain the anterior capsule with trypan blue.", strict=False,
                 phase="capsulorhexis", extra_attributes={"instruments": ["cannula"]}),
        ClipSpec("vidAAAAAAAA_2", "vidAAAAAAAA", "Show the incision again.", kept=False),
        ClipSpec("vidAAAAAAAA_10", "vidAAAAAAAA", "Complete the capsulorhexis with forceps.",
                 phase="capsulorhexis", seconds=1.5),
        ClipSpec("local-0123456789abcdef_0", "local-0123456789abcdef", "Emulsify the nucleus with the phaco tip.",
                 strict=False),
    ]


def make_clip(path: Path, seconds: float, seed: int) -> Path:
    """A tiny distinct H.264 clip (different test pattern offset per clip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size=64x48:rate=8:duration={seconds},hue=h={seed * 40}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def release_config(*overrides: str) -> Config:
    return resolve_config(None, None, ["build.shard_multiple=2", "build.shard_size_mb=0.015", *overrides])


def write_rows(run: RunDir, config: Config, stage: str, rows: list[dict[str, Any]]) -> None:
    config_hash = stage_config_hash(get_stage(stage), config)
    run.table(stage).append([{**row, "config_hash": config_hash, "updated_at": "2026-11-20T00:00:00+00:00",
                              "retryable": False} for row in rows])


def _clip_stage_rows(run: RunDir, config: Config, spec: ClipSpec, scored: bool) -> dict[str, list[dict]]:
    ids = {"clip_id": spec.clip_id, "video_id": spec.video_id}
    index = int(spec.clip_id.rsplit("_", 1)[1])
    start = index * 2.0
    rows: dict[str, list[dict]] = {
        "segment": [{**ids, "status": "ok", "reason": "", "start": start, "end": start + spec.seconds,
                     "duration_s": spec.seconds, "narration": "narration", "word_count": 6, "speech_rate": 2.0}],
        "caption": [{**ids, "status": "ok", "reason": "", "instruction": spec.instruction,
                     "attributes": {"surgical_phase": spec.phase, **spec.extra_attributes}, "captioner": "rules",
                     "model": "rules-v1", "prompt_version": "p1", "schema_version": "1"}],
        "cut": [{**ids, "status": "ok", "reason": "", "path": str(run.clip(spec.clip_id)), "start": start,
                 "end": start + spec.seconds, "duration_s": spec.seconds, "width": 64, "height": 48, "fps": 8.0,
                 "frames": int(spec.seconds * 8), "cut_mode": "seek"}],
        "quality": [{**ids, **check_row("clip_id", spec.clip_id, "width", 1280 if spec.kept else 10,
                                        config.quality.width)}],
        "privacy": [
            {**ids, **flag_row("clip_id", spec.clip_id, "verification", spec.verified, "face visible after blur")},
            {**ids, **check_row("clip_id", spec.clip_id, "faces_detected", 0.0 if spec.strict else 2.0,
                                Bound(min=0.0)),
             "redacted_path": f"media/redacted/{spec.clip_id}.mp4", "privacy_strict": spec.strict,
             "boxes_path": f"privacy/{spec.clip_id}.json"},
        ],
    }
    if scored:
        values = spec.scores or {"clip_text_similarity": 0.31, "surgical_content": 0.8}
        rows["score"] = [{**ids, **check_row("clip_id", spec.clip_id, name, value, getattr(config.score, name),
                                             model="ViT-B-16", model_revision="rev1")}
                         for name, value in values.items()]
    else:
        rows["score"] = [{**ids, "status": "ok", "reason": "skipped: score.enabled is false", "skipped": True,
                          "check": "clip_text_similarity", "value": None, "passed": None}]
    return rows


def decide_row(spec: ClipSpec, decision_set_id: str = "ds-test01") -> dict[str, Any]:
    subsets = (["default", "strict"] if spec.strict else ["default"]) if spec.kept else []
    return {"clip_id": spec.clip_id, "video_id": spec.video_id, "status": "ok" if spec.kept else "rejected",
            "reason": "" if spec.kept else "quality: width 10 not >= 720", "decision": "kept" if spec.kept
            else "rejected", "reasons": [] if spec.kept else ["quality: width 10 not >= 720"],
            "subsets": subsets, "decision_set_id": decision_set_id}


def write_boxes(run: RunDir, clip_id: str, passes: int = 0, redacted: dict[str, Any] | None = None) -> Path:
    """The privacy stage's boxes file (`privacy/<clip_id>.json`); passes 0: published unchanged."""
    path = run.root / "privacy" / f"{clip_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    empty = {"width": 64, "height": 48, "fps": 8.0, "total_frames": 8, "frames": {}}
    path.write_text(json.dumps({"clip_id": clip_id, "passes": passes, "hold_frames": 0, "box_dilation": 0.0,
                                "detected": redacted or empty, "redacted": redacted or empty}))
    return path


def make_release_run(root: Path, config: Config, specs: list[ClipSpec] | None = None,
                     scored: bool = False) -> RunDir:
    """Write every table `build` reads and the redacted clips it packs."""
    specs = specs if specs is not None else default_specs()
    run = RunDir(root).create()
    run.save_config(config)
    videos = sorted({s.video_id for s in specs})
    write_rows(run, config, "ingest", [
        {"video_id": v, "status": "ok", "reason": "", "source_kind": "local" if v.startswith("local-") else "youtube",
         "url": None if v.startswith("local-") else f"https://www.youtube.com/watch?v={v}"} for v in videos])
    write_rows(run, config, "download", [
        {"video_id": v, "status": "ok", "reason": "", "path": str(run.raw_video(v)),
         "webpage_url": None if v.startswith("local-") else f"https://www.youtube.com/watch?v={v}"}
        for v in videos])
    by_stage: dict[str, list[dict]] = {}
    for seed, spec in enumerate(specs):
        for stage, rows in _clip_stage_rows(run, config, spec, scored).items():
            by_stage.setdefault(stage, []).extend(rows)
        make_clip(run.redacted_clip(spec.clip_id), spec.seconds, seed)
        write_boxes(run, spec.clip_id)
    for stage, rows in by_stage.items():
        write_rows(run, config, stage, rows)
    write_rows(run, config, "decide", [decide_row(s) for s in specs])
    return run
