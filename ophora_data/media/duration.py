"""Where a video's picture ends, in playback time, from the best source a file offers.

Playback time is what transcripts and `ffmpeg -ss` use: seconds from the container's start
time (`format.start_time`), which is not 0 for MPEG-TS (often 1.4 s or more) and is slightly
negative for browser WebM recordings. The end that bounds clip windows is the *video
stream's* end: the container's duration is that of its longest stream, so a file whose audio
outlasts its picture would otherwise get windows over no video at all.

Sources, best first (the one used is recorded as `duration_source`):
1. `video_stream`: the stream's own duration (MP4/MOV with edit lists applied, MPEG-TS/PS, AVI,
   ASF, MXF), plus its start offset;
2. `video_stream_tag`: Matroska/WebM's per-track `DURATION` tag, which ffmpeg's muxer writes as
   the track's end timestamp;
3. `container`: `format.duration`, only when the video is the file's one audio/video stream
   (then the longest stream is the video);
4. `packets`: the last video packet's pts + duration, read from packet headers without decoding
   (browser/streamed WebM without a Duration element, FLV, MKV without tags). This reads the
   whole file once, so it is the last resort.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ophora_data.media.runner import MediaError, run_tool

_CLOCK = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class VideoEnd:
    """The video's end and first frame, seconds of playback time, and the source of the end."""

    end_s: float
    start_s: float  # the video stream's first timestamp (0.021 s for a typical MPEG-TS)
    source: str  # video_stream | video_stream_tag | container | packets


def seconds(value: Any) -> float | None:
    """A finite float from ffprobe's text ('8.000000', 'N/A', None, '00:00:08.021000000')."""
    if value is None:
        return None
    text = str(value).strip()
    match = _CLOCK.match(text)
    if match:
        hours, minutes, secs = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(secs)
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def video_end(path: Path, info: dict[str, Any], video: dict[str, Any], fps: float | None = None,
              timeout_s: float = 60.0) -> VideoEnd:
    """The end of `video` (one of `info`'s streams from `ffprobe -show_format -show_streams`);
    `fps` (frames/s, from the header) sets the length of a last packet that has no duration.

    Raises MediaError when no source gives a positive end (no readable video packets).
    """
    fmt = info.get("format") or {}
    origin = seconds(fmt.get("start_time")) or 0.0
    stream_start = seconds(video.get("start_time"))
    start = stream_start - origin if stream_start is not None else 0.0
    candidates = (
        ("video_stream", _plus(start, seconds(video.get("duration")))),
        ("video_stream_tag", _minus(seconds(_tag(video, "DURATION")), origin)),
        ("container", seconds(fmt.get("duration")) if _only_av_stream(info, video) else None),
    )
    for source, end in candidates:
        if end is not None and end > start:
            return VideoEnd(end, start, source)
    end = last_packet_end(path, fps, timeout_s) - origin
    if end <= start:
        raise MediaError("no readable duration (no video packets with timestamps)")
    return VideoEnd(end, start, "packets")


def last_packet_end(path: Path, fps: float | None = None, timeout_s: float = 60.0) -> float:
    """max(pts + duration) over the first video stream's packets, in the file's own timestamps.

    A packet without a duration (Matroska SimpleBlocks often have none) lasts one frame
    interval: 1/fps, else the median gap between packets. MediaError when no packet has a time.
    """
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "packet=pts_time,duration_time,flags", "-of", "json=c=1", str(path)]  # fmt: skip
    try:
        packets = json.loads(run_tool(argv, timeout_s=timeout_s) or b"{}").get("packets") or []
    except json.JSONDecodeError as exc:
        raise MediaError("ffprobe gave unreadable packet output") from exc
    timed = [(pts, seconds(p.get("duration_time"))) for p in packets
             if (pts := seconds(p.get("pts_time"))) is not None and "D" not in (p.get("flags") or "")]
    if not timed:
        raise MediaError("no readable duration (no video packets with timestamps)")
    fallback = _frame_interval(fps, sorted(pts for pts, _ in timed))
    return max(pts + (dur if dur and dur > 0 else fallback) for pts, dur in timed)


def _frame_interval(fps: float | None, times: list[float]) -> float:
    if fps:
        return 1.0 / fps
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    return gaps[len(gaps) // 2] if gaps else 0.0


def _plus(start: float, duration: float | None) -> float | None:
    return start + duration if duration is not None and duration > 0 else None


def _minus(value: float | None, origin: float) -> float | None:
    return value - origin if value is not None else None


def _tag(stream: dict[str, Any], name: str) -> Any:
    tags = {str(k).upper(): v for k, v in (stream.get("tags") or {}).items()}
    return tags.get(name)


def _only_av_stream(info: dict[str, Any], video: dict[str, Any]) -> bool:
    """True when `video` is the file's only audio or video stream (cover art does not count)."""
    others = [s for s in info.get("streams") or [] if s is not video and s.get("codec_type") in ("audio", "video")
              and not (s.get("disposition") or {}).get("attached_pic")]
    return not others
