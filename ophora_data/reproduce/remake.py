"""Re-make recorded clips from a source: the exact window, the recorded size and encoding, the
recorded redaction boxes. Uses the `cut` stage's planner and cutter (frame-exact, verified outputs)
and the privacy package's redaction encoder, so a re-made clip is made the way the original was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ophora_data.config import Config
from ophora_data.media.cutplan import ClipWindow, plan_passes
from ophora_data.media.cutter import CutJob, CutOutcome, run_pass
from ophora_data.media.ffmpeg import EncoderSettings, size_filter
from ophora_data.media.timeline import Timeline
from ophora_data.reproduce.manifest import Record


def encoder_settings(record: Record, config: Config) -> EncoderSettings:
    """The recorded encoding of the clip; today's `cut` config fills what an older manifest lacks."""
    clip, cut = record.get("clip") or {}, config.cut
    defaults = EncoderSettings()
    return EncoderSettings(
        crf=int(clip.get("crf") if clip.get("crf") is not None else cut.crf),
        preset=str(clip.get("preset") or cut.preset),
        codec=str(clip.get("codec") or defaults.codec),
        pix_fmt=str(clip.get("pix_fmt") or defaults.pix_fmt),
        audio=bool(clip.get("audio")) if clip.get("audio") is not None else cut.audio,
        audio_bitrate=str(clip.get("audio_bitrate") or cut.audio_bitrate),
    )


def cut_group(source: Path, timeline: Timeline, windows: list[ClipWindow], records: dict[str, Record],
              finals: dict[str, Path], has_audio: bool, config: Config) -> list[CutOutcome]:
    """Cut windows of one source that share size and encoding into `finals` (one outcome per window)."""
    first = records[windows[0].clip_id]
    settings = encoder_settings(first, config)
    clip = first["clip"]
    size = (int(clip["width"]), int(clip["height"]))
    display_w, display_h = timeline.display_size
    job = CutJob(source=source, timeline=timeline, size=size, size_filter=size_filter(display_w, display_h, *size),
                 settings=settings, with_audio=settings.audio and has_audio, verify=config.cut.verify,
                 timeout_s=config.reproduce.timeout_s)
    passes = plan_passes(windows, timeline.keyframes, config.cut.strategy, config.cut.seek_overhead_frames,
                         config.cut.max_outputs)
    return [outcome for dpass in passes for outcome in run_pass(job, dpass, finals)]


def cut_key(record: Record, config: Config) -> tuple[Any, ...]:
    """Clips with equal keys can share one decode pass (same output size and encoding)."""
    clip = record["clip"]
    return (int(clip["width"]), int(clip["height"]), encoder_settings(record, config))


def boxes_per_frame(record: Record, frames: int) -> list[list[Any]]:
    """The recorded redaction boxes expanded to one list per frame (frame 0..frames-1)."""
    from ophora_data.privacy.boxes import Box

    per_frame: list[list[Any]] = [[] for _ in range(frames)]
    for run in (record.get("redaction") or {}).get("boxes") or []:
        boxes = [Box(int(b["x"]), int(b["y"]), int(b["w"]), int(b["h"]), str(b.get("kind") or "text"))
                 for b in run.get("boxes") or []]
        for index in range(max(0, int(run["first"])), min(frames, int(run["stop"]))):
            per_frame[index].extend(boxes)
    return per_frame


def redact(cut_clip: Path, dest: Path, record: Record, frames: int, config: Config) -> int:
    """Blur the recorded boxes into `dest` with the recorded settings (or link the clip when there are
    none, as the privacy stage does); returns the number of blurred frames."""
    from ophora_data.privacy.redact import encode_redacted, publish_unchanged

    per_frame = boxes_per_frame(record, frames)
    blurred = sum(1 for boxes in per_frame if boxes)
    if not blurred:
        publish_unchanged(cut_clip, dest)
        return 0
    recorded = record.get("redaction") or {}
    settings = {"blur": recorded.get("method"), "blur_strength": recorded.get("strength"),
                "pixelate_blocks": recorded.get("pixelate_blocks"), "crf": recorded.get("crf"),
                "preset": recorded.get("preset"), "timeout_s": config.reproduce.timeout_s}
    privacy = config.privacy.model_copy(update={k: v for k, v in settings.items() if v is not None})
    encode_redacted(cut_clip, dest, per_frame, privacy)
    return blurred
