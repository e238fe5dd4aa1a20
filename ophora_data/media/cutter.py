"""Run one decode pass: ffmpeg writes temp files, each is verified, then renamed into place.

A clip file therefore exists under its final name only when it is whole and exact; a
killed run leaves at most hidden `.tmp` files, which the next run overwrites.

Timestamps: ffmpeg runs with `-copyts`, so decoded frames keep the pts ffprobe read into the
timeline and every trim is an absolute pts (the timeline's time plus the container's start
time). Without it ffmpeg re-bases timestamps on the seek point, and several demuxers (AVI,
MXF, MPEG-PS) then shift a cut by a frame. Seeking: an indexed container (MP4, Matroska, ...)
lands on the keyframe before the target, so the target is the first frame itself; a container
that seeks by bisecting timestamps (MPEG-TS/PS) can land after that keyframe and lose frames, so
there the target is `UNINDEXED_SEEK_MARGIN_S` before the keyframe the first frame needs.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from ophora_data.media.cutplan import ClipWindow, DecodePass, keyframe_before
from ophora_data.media.ffmpeg import ClipOutput, EncoderSettings, cut_argv
from ophora_data.media.runner import MediaError, run_tool
from ophora_data.media.timeline import Timeline
from ophora_data.media.verify import ClipFacts, Expected, VerifyMode, clip_facts, problems

# Read a little past the last window: the trims, not the read limit, decide the last frame.
READ_MARGIN_S = 0.5
# Larger than any B-frame reordering delay (a keyframe's dts precedes its pts by a few frames),
# so a timestamp bisection lands before the keyframe; measured on MPEG-TS and MPEG-PS sources.
UNINDEXED_SEEK_MARGIN_S = 1.0


@dataclass(frozen=True)
class CutJob:
    source: Path
    timeline: Timeline
    size: tuple[int, int]  # output (width, height), even
    size_filter: str
    settings: EncoderSettings
    with_audio: bool
    verify: VerifyMode
    timeout_s: float  # per window


@dataclass(frozen=True)
class CutOutcome:
    window: ClipWindow
    path: Path
    facts: ClipFacts | None
    error: str  # empty when the clip is in place and verified
    seek_s: float  # where decoding started, seconds from the file start (0: its beginning)


def expected_for(job: CutJob, window: ClipWindow) -> Expected:
    timeline = job.timeline
    return Expected(
        frames=window.frames,
        duration_s=timeline.end_of(window.stop) - timeline.times[window.first],
        window_s=window.end - window.start,
        frame_interval=timeline.frame_interval,
        width=job.size[0],
        height=job.size[1],
        audio=job.with_audio,
    )


def _temp_path(final: Path) -> Path:
    return final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}.tmp.mp4")


def seek_point(timeline: Timeline, first: int) -> float | None:
    """Where to seek (seconds from the file start) so that frame `first` decodes exactly; None
    when decoding starts at the beginning of the file (`first` needs the first keyframe)."""
    keyframe = keyframe_before(timeline.keyframes, first)
    if keyframe <= (timeline.keyframes[0] if timeline.keyframes else 0):
        # Some demuxers (FLV, with B-frames) skip to the second keyframe when asked for a time
        # before the first frame's pts; not seeking at all costs the same and cannot miss.
        return None
    if timeline.seeks_to_keyframes:
        return max(0.0, timeline.midpoint_before(first))
    return max(0.0, timeline.times[keyframe] - UNINDEXED_SEEK_MARGIN_S)


def run_pass(job: CutJob, dpass: DecodePass, finals: dict[str, Path]) -> list[CutOutcome]:
    """Cut every window of one pass into `finals[clip_id]`: one outcome per window, no MediaError."""
    timeline = job.timeline
    seek = seek_point(timeline, dpass.first)
    pts = timeline.start_time  # timeline time + this = the pts ffmpeg sees under -copyts
    temps = {w.clip_id: _temp_path(finals[w.clip_id]) for w in dpass.windows}
    outputs = [
        ClipOutput(
            path=temps[w.clip_id],
            trim_start=pts + timeline.cut_point_before(w.first),
            trim_end=pts + timeline.cut_point_before(w.stop),
            audio_start=pts + timeline.times[w.first],
            audio_end=pts + timeline.end_of(w.stop),
        )
        for w in dpass.windows
    ]
    started = seek if seek is not None else 0.0
    read_s = timeline.end_of(dpass.stop) - started + READ_MARGIN_S
    argv = cut_argv(job.source, seek, read_s, outputs, job.size_filter, job.settings, job.with_audio)
    for final in finals.values():
        final.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_tool(argv, timeout_s=job.timeout_s * len(outputs))
    except MediaError as exc:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        return [
            CutOutcome(w, finals[w.clip_id], None, f"ffmpeg cut failed: {exc}", started) for w in dpass.windows
        ]
    return [_verify_and_place(job, w, temps[w.clip_id], finals[w.clip_id], started) for w in dpass.windows]


def _verify_and_place(job: CutJob, window: ClipWindow, temp: Path, final: Path, seek: float) -> CutOutcome:
    try:
        facts = clip_facts(temp, job.verify, timeout_s=job.timeout_s)
    except (MediaError, ValueError) as exc:
        temp.unlink(missing_ok=True)
        return CutOutcome(window, final, None, f"output not readable: {exc}", seek)
    found = problems(facts, expected_for(job, window))
    if found:
        temp.unlink(missing_ok=True)
        return CutOutcome(window, final, facts, "verification failed: " + "; ".join(found), seek)
    with open(temp, "rb+") as handle:  # on disk before the name says it is done
        os.fsync(handle.fileno())
    os.replace(temp, final)
    return CutOutcome(window, final, facts, "", seek)
