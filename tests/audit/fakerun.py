"""Crafted run directories for the audit tests: rows of every stage under the right config hashes.

Rows are written with `stage_config_hash(get_stage(name), config)`, exactly what decide and
the audit commands look for.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ophora_data.config import Config
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import check_row, flag_row
from ophora_data.stages.registry import get_stage, stage_config_hash


@dataclass
class Clip:
    """One candidate window and what each stage says about it (None = no row from that stage)."""

    clip_id: str
    video_id: str = "vidA"
    start: float = 0.0
    end: float = 5.0
    segment_reason: str = ""  # non-empty: a rejected window
    instruction: str | None = "Make the capsulorhexis with the cystotome."
    caption_reason: str = ""
    confidence: float = 0.9
    cut: bool = True
    quality: dict[str, float] | None = field(default_factory=lambda: {"width": 1280, "height": 720,
                                                                      "duration_s": 5.0})
    score: dict[str, float] | None = field(default_factory=lambda: {"clip_text_similarity": 0.3})
    score_skipped: bool = False
    privacy: bool | None = True  # None: no privacy rows; False: redaction verification failed
    strict: bool = True


def write_rows(run: RunDir, config: Config, stage: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    config_hash = stage_config_hash(get_stage(stage), config)
    stamped = [{**row, "config_hash": config_hash, "updated_at": "2026-11-20T00:00:00+00:00"} for row in rows]
    run.table(stage).append(stamped)


def _check(stage_cfg: Any, clip: Clip, check: str, value: float, **extra: Any) -> dict[str, Any]:
    return {"video_id": clip.video_id, **check_row("clip_id", clip.clip_id, check, value,
                                                   getattr(stage_cfg, check), **extra)}


def clip_rows(config: Config, run: RunDir, clip: Clip) -> dict[str, list[dict[str, Any]]]:
    ids = {"clip_id": clip.clip_id, "video_id": clip.video_id}
    out: dict[str, list[dict[str, Any]]] = {}
    out["segment"] = [{**ids, "status": "rejected" if clip.segment_reason else "ok",
                       "reason": clip.segment_reason, "start": clip.start, "end": clip.end,
                       "duration_s": clip.end - clip.start, "narration": f"narration of {clip.clip_id}",
                       "word_count": 12, "speech_rate": 2.4}]
    if clip.segment_reason:
        return out
    if clip.instruction is not None:
        out["caption"] = [{**ids, "status": "rejected" if clip.caption_reason else "ok",
                           "reason": clip.caption_reason, "instruction": clip.instruction,
                           "attributes": {"phase": "capsulorhexis"}, "captioner": "rules",
                           "model": "rules", "prompt_version": "p1", "schema_version": "1"},
                          _check(config.caption, clip, "confidence", clip.confidence, model="rules",
                                 model_revision="p1")]
    if clip.cut:  # paths relative to the run directory, as cut and privacy store them
        out["cut"] = [{**ids, "status": "ok", "reason": "", "path": f"media/clips/{clip.clip_id}.mp4",
                       "start": clip.start, "end": clip.end, "duration_s": clip.end - clip.start,
                       "width": 1280, "height": 720, "fps": 25.0, "frames": 125, "cut_mode": "seek"}]
    if clip.quality is not None:
        out["quality"] = [_check(config.quality, clip, name, value) for name, value in clip.quality.items()]
    if clip.score_skipped:
        out["score"] = [{**ids, "status": "ok", "reason": "score disabled", "check": "clip_text_similarity",
                         "value": None, "skipped": True}]
    elif clip.score is not None:
        out["score"] = [_check(config.score, clip, name, value, model="ViT-B-16", model_revision="abc123")
                        for name, value in clip.score.items()]
    if clip.privacy is not None:
        out["privacy"] = [
            {**ids, **flag_row("clip_id", clip.clip_id, "verification", clip.privacy,
                               "face still visible after blur"),
             "redacted_path": f"media/redacted/{clip.clip_id}.mp4", "privacy_strict": clip.strict,
             "boxes_path": f"privacy/{clip.clip_id}.json", "mode": "blur"},
        ]
    return out


def build_run(run: RunDir, config: Config, clips: list[Clip], videos: dict[str, Path] | None = None) -> None:
    """Write every stage's table for `clips`; `videos` (video_id -> file) fills media/."""
    run.save_config(config)
    video_ids = sorted({c.video_id for c in clips})
    write_rows(run, config, "ingest", [{"video_id": v, "status": "ok", "reason": "", "source_kind": "local",
                                        "local_path": f"/data/{v}.mp4"} for v in video_ids]
               + [{"video_id": "bad-line", "status": "rejected", "reason": "not a URL or file",
                   "source_kind": "rejected"}])
    for stage in ("download", "probe", "transcribe"):
        write_rows(run, config, stage, [{"video_id": v, "status": "ok", "reason": "",
                                         "path": str(run.raw_video(v)), "duration_s": 60.0} for v in video_ids])
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for clip in clips:
        for stage, rows in clip_rows(config, run, clip).items():
            by_stage.setdefault(stage, []).extend(rows)
    for stage, rows in by_stage.items():
        write_rows(run, config, stage, rows)
    for video_id, path in (videos or {}).items():
        run.raw_video(video_id).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, run.raw_video(video_id))
        for clip in clips:
            if clip.video_id == video_id and clip.cut and not clip.segment_reason:
                run.clip(clip.clip_id).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, run.clip(clip.clip_id))


def standard_clips() -> list[Clip]:
    """A small run covering every kind of outcome."""
    return [
        Clip("vidA_0", start=0, end=5),  # kept, strict
        Clip("vidA_1", start=5, end=10, strict=False),  # kept, default only
        Clip("vidA_2", start=10, end=15, score={"clip_text_similarity": 0.22}),  # kept at 0.2, lost at 0.27
        Clip("vidA_3", start=15, end=16, segment_reason="window too short (1.0 s)"),
        Clip("vidA_4", start=16, end=21, quality={"width": 640, "height": 360, "duration_s": 5.0},
             score={"clip_text_similarity": 0.1}),  # three reasons
        Clip("vidB_0", video_id="vidB", start=0, end=5, caption_reason="not procedural"),
        Clip("vidB_1", video_id="vidB", start=5, end=10, privacy=None),  # missing privacy
        Clip("vidB_2", video_id="vidB", start=10, end=15, score_skipped=True),  # kept: skipped ignored
        Clip("vidB_3", video_id="vidB", start=15, end=20, instruction=None, cut=False, quality=None,
             score=None, privacy=None),  # missing caption, cut, quality, privacy
    ]
