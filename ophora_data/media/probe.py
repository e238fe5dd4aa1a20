"""ffprobe a media file into a flat metadata dict, with readable failure reasons."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from ophora_data.media.duration import seconds, video_end
from ophora_data.media.runner import MediaError, run_tool

# ffprobe's messages, translated into reasons a person can act on.
_KNOWN_ERRORS = (
    ("moov atom not found", "truncated or incomplete mp4 (moov atom not found)"),
    ("Invalid data found when processing input", "not a media file (invalid data)"),
    ("End of file", "truncated file (unexpected end of file)"),
)
# Demuxers that read pictures or text as a "video stream": not a source video.
_NOT_VIDEO_FORMATS = frozenset({"image2", "tty", "lavfi"})


def stream_fps(stream: dict[str, Any]) -> float | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        try:
            value = Fraction(stream.get(key) or "0/0")
        except (ValueError, ZeroDivisionError):
            continue
        if value > 0:
            return float(value)
    return None


def stream_rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    # The legacy tag counts clockwise; the display matrix (and this field) counter-clockwise.
    return int(-float(rotate)) % 360 if rotate else 0


def ffprobe_info(path: Path, timeout_s: float = 60.0) -> dict[str, Any]:
    """`ffprobe -show_format -show_streams` as a dict; MediaError with a readable reason if unusable."""
    if not path.exists():
        raise MediaError(f"file not found: {path.name}")
    if path.stat().st_size == 0:
        raise MediaError("empty file (0 bytes)")
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    try:
        return json.loads(run_tool(argv, timeout_s=timeout_s) or b"{}")
    except json.JSONDecodeError as exc:
        raise MediaError("ffprobe gave unreadable output") from exc
    except MediaError as exc:
        if not _has_media_header(path):
            raise MediaError("not a media file (no container header; text or other data)") from exc
        for needle, reason in _KNOWN_ERRORS:
            if needle in str(exc):
                raise MediaError(reason) from exc
        raise


def video_stream(info: dict[str, Any]) -> dict[str, Any]:
    """The first real video stream of `ffprobe_info`'s result; MediaError saying why there is none.

    Cover art (an attached picture in an audio file), still images and rendered text are not video.
    """
    streams = info.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None:
        raise MediaError("no video stream (audio-only file)" if audio else "no video stream")
    container = str((info.get("format") or {}).get("format_name") or "")
    if container in _NOT_VIDEO_FORMATS or container.endswith("_pipe"):
        raise MediaError(f"not a video (ffprobe reads it as {container}: a still image or text)")
    return video


def probe_file(path: Path, timeout_s: float = 60.0) -> dict[str, Any]:
    """Duration, fps, size, codec, audio, rotation of a video; MediaError with a clear reason if unusable.

    `duration_s` is where the picture ends in playback time (seconds from the container's start,
    the origin transcripts and `ffmpeg -ss` use), not the container's duration, which is that of
    the longest stream; `duration_source` says where it came from (see `media/duration.py`).
    """
    info = ffprobe_info(path, timeout_s)
    video = video_stream(info)
    audio = next((s for s in info.get("streams") or [] if s.get("codec_type") == "audio"), None)
    fps = stream_fps(video)
    end = video_end(path, info, video, fps, timeout_s)
    fmt = info.get("format") or {}
    return {
        "duration_s": round(end.end_s, 6),
        "duration_source": end.source,
        "video_start_s": round(end.start_s, 6),
        "container_duration_s": seconds(fmt.get("duration")),
        "fps": fps,
        "width": int(video.get("width") or 0),
        "height": int(video.get("height") or 0),
        "codec": video.get("codec_name"),
        "pix_fmt": video.get("pix_fmt"),
        "has_audio": audio is not None,
        "audio_codec": audio.get("codec_name") if audio else None,
        "rotation": stream_rotation(video),
        # As the header says: an MP4 edit list's hidden pre-roll frames are counted too.
        "nb_frames": int(video["nb_frames"]) if str(video.get("nb_frames", "")).isdigit() else None,
        "size_bytes": path.stat().st_size,
        "container": fmt.get("format_name"),
    }


def not_video_reason(path: Path, timeout_s: float = 30.0) -> str:
    """Empty when ffprobe reads `path` as a video (whatever its name), else why not (for a row's reason)."""
    try:
        video_stream(ffprobe_info(path, timeout_s))
    except MediaError as exc:
        return str(exc)
    return ""


def _has_media_header(path: Path) -> bool:
    """False for files that are clearly not media (e.g. text renamed .mp4), whatever ffprobe guessed."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return True
    text_like = all(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return not text_like


def _is_cover_art(stream: dict[str, Any]) -> bool:
    return bool((stream.get("disposition") or {}).get("attached_pic"))
