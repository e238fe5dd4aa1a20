"""Verify a freshly cut clip before it counts: decodable, the exact frame count, the right duration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from ophora_data.media.runner import MediaError, run_tool

VerifyMode = Literal["decode", "packets"]


@dataclass(frozen=True)
class ClipFacts:
    frames: int
    duration_s: float
    width: int
    height: int
    fps: float
    codec: str
    pix_fmt: str
    has_audio: bool
    size_bytes: int


@dataclass(frozen=True)
class Expected:
    frames: int
    duration_s: float  # of the frames kept: first frame time to the end of the last frame
    window_s: float  # the window asked for
    frame_interval: float
    width: int
    height: int
    audio: bool


def first_frame_decodes(path: Path, timeout_s: float = 120.0) -> None:
    """Decode the first video frame (headers and the opening keyframe are valid), else MediaError."""
    run_tool(["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-map", "0:v:0",
              "-frames:v", "1", "-f", "null", "-"], timeout_s=timeout_s)  # fmt: skip


def clip_facts(path: Path, mode: VerifyMode = "packets", timeout_s: float = 120.0) -> ClipFacts:
    """ffprobe a clip. `decode` decodes every frame and counts them (about a quarter of the encoding
    time on noisy 720p); `packets` counts packets (one per frame from libx264) and decodes the first frame.
    """
    if mode == "packets":
        first_frame_decodes(path, timeout_s)
    count = ["-count_frames"] if mode == "decode" else ["-count_packets"]
    argv = [
        "ffprobe",
        "-v",
        "error",
        *count,
        "-show_entries",
        "stream=codec_type,codec_name,width,height,pix_fmt,avg_frame_rate,duration,nb_read_frames,"
        "nb_read_packets:format=duration",
        "-of",
        "json",
        str(path),
    ]
    info = json.loads(run_tool(argv, timeout_s=timeout_s) or b"{}")
    streams = info.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise MediaError("output has no video stream")
    counted = video.get("nb_read_frames" if mode == "decode" else "nb_read_packets")
    duration = video.get("duration") or (info.get("format") or {}).get("duration") or 0
    try:
        fps = float(Fraction(video.get("avg_frame_rate") or "0/1"))
    except (ValueError, ZeroDivisionError):
        fps = 0.0
    return ClipFacts(
        frames=int(counted) if str(counted).isdigit() else 0,
        duration_s=float(duration),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        fps=fps,
        codec=str(video.get("codec_name")),
        pix_fmt=str(video.get("pix_fmt")),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        size_bytes=path.stat().st_size,
    )


def problems(facts: ClipFacts, expected: Expected) -> list[str]:
    """Every way a clip differs from its plan; empty when it is exact."""
    found = []
    if facts.frames != expected.frames:
        found.append(f"{facts.frames} frames, expected {expected.frames}")
    # Half a frame of slack on top of one frame absorbs the muxer's rounding of the last frame's duration.
    slack = expected.frame_interval * 1.5
    if abs(facts.duration_s - expected.duration_s) > slack:
        found.append(f"duration {facts.duration_s:.3f} s, expected {expected.duration_s:.3f} s")
    if abs(facts.duration_s - expected.window_s) > slack:
        found.append(
            f"duration {facts.duration_s:.3f} s is over a frame off the {expected.window_s:.3f} s window"
        )
    if (facts.width, facts.height) != (expected.width, expected.height):
        found.append(f"size {facts.width}x{facts.height}, expected {expected.width}x{expected.height}")
    if facts.has_audio != expected.audio:
        found.append("audio stream " + ("present, expected none" if facts.has_audio else "missing"))
    return found
