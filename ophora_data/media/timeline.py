"""The exact presentation timeline of a video stream, read from packets (no decoding).

Frame-exact cutting and sampling need every frame's timestamp, also for variable frame
rate sources: `ffprobe -show_entries packet=pts_time` reads the container index and
packet headers only (about 0.07 s for a 2-minute 720p source). Times are seconds
relative to the file's start time, which is the origin `ffmpeg -ss` uses.
"""

from __future__ import annotations

import functools
import json
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

from ophora_data.media.duration import seconds
from ophora_data.media.probe import stream_fps, stream_rotation
from ophora_data.media.runner import MediaError, run_tool

# Demuxers that seek through a keyframe index (ffprobe's format_name). Others (MPEG-TS, MPEG-PS,
# raw elementary streams, Ogg) find a seek target by bisecting timestamps, which lands on any
# packet, often after the keyframe a frame-exact cut has to decode from (see media/cutter.py).
INDEXED_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "flv", "asf", "avi", "mxf", "nut"})


@dataclass(frozen=True)
class Timeline:
    """Sorted frame times (seconds from the file start) of the first video stream."""

    times: tuple[float, ...]
    keyframes: tuple[int, ...]  # indices (into times) of the frames coded as keyframes
    start_time: float  # the container's start time: add it to get stream pts
    fps: float  # average frame rate from the header (or from the times)
    rotation: int  # display rotation in degrees counter-clockwise (0, 90, 180, 270)
    width: int  # coded size, before rotation
    height: int
    container: str = ""  # ffprobe's format_name

    @property
    def seeks_to_keyframes(self) -> bool:
        """True when ffmpeg's input seeking lands on the keyframe before a target (an indexed container)."""
        return self.container in INDEXED_CONTAINERS

    @property
    def total_frames(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        """First frame to the end of the last frame (which lasts as long as the one before it)."""
        if not self.times:
            return 0.0
        return self.times[-1] - self.times[0] + self.last_interval

    @property
    def last_interval(self) -> float:
        if len(self.times) > 1:
            return self.times[-1] - self.times[-2]
        return self.frame_interval

    @property
    def frame_interval(self) -> float:
        if len(self.times) > 1:
            return (self.times[-1] - self.times[0]) / (len(self.times) - 1)
        return 1.0 / self.fps if self.fps > 0 else 0.04

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, after applying the rotation."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

    def frames_in(self, start: float, end: float) -> tuple[int, int]:
        """Index range [first, stop) of the frames whose time t satisfies start <= t < end.

        A microsecond of slack absorbs the rounding in ffprobe's printed times and in
        window bounds computed from the same frames.
        """
        eps = 1e-6
        return bisect_left(self.times, start - eps), bisect_left(self.times, end - eps)

    def midpoint_before(self, index: int) -> float:
        """A time between frame index-1 and frame index: a seek/trim point no rounding can move."""
        if index <= 0:
            return self.times[0] - self.frame_interval / 2 if self.times else 0.0
        if index >= len(self.times):
            return self.times[-1] + self.last_interval / 2
        return (self.times[index - 1] + self.times[index]) / 2

    def cut_point_before(self, index: int) -> float:
        """A trim boundary between frame index-1 and frame index, three quarters of the way to index.

        ffmpeg's `trim` rounds a time to the nearest tick of the stream's time base; when that is
        one tick per frame (AVI, MXF: 1/30 s) a midpoint sits on the rounding edge and, written
        with six decimals, rounds down onto frame index-1. Three quarters rounds onto frame index
        in any time base with at least one tick per frame, and stays clear of both frames.
        """
        if index <= 0:
            return self.times[0] - self.frame_interval / 4 if self.times else 0.0
        if index >= len(self.times):
            return self.times[-1] + self.last_interval * 3 / 4
        return self.times[index - 1] + (self.times[index] - self.times[index - 1]) * 3 / 4

    def end_of(self, index: int) -> float:
        """When frame `index - 1` stops being shown: the next frame's time, or the video's end."""
        if index < len(self.times):
            return self.times[index]
        return self.times[-1] + self.last_interval

    def index_at(self, t: float) -> int:
        """The frame on screen at time t (the last frame whose time is <= t)."""
        return max(0, bisect_left(self.times, t + 1e-6) - 1)


def packet_times(packets: list[dict]) -> list[tuple[float, bool]] | None:
    """(pts, is keyframe) of every packet that becomes a frame, in the file's own timestamps;
    None when a packet has no pts (MPEG-PS, AVI with packed B-frames): then only decoding
    tells the frames' times (one packet may even hold two frames).

    Packets flagged D (discard, e.g. an MP4 edit list's hidden pre-roll) never become frames.
    """
    frames = []
    for packet in packets:
        flags = packet.get("flags") or ""
        if "D" in flags:
            continue
        pts = seconds(packet.get("pts_time"))
        if pts is None:
            return None
        frames.append((pts, "K" in flags))
    return frames


def decoded_frame_times(path: Path, timeout_s: float = 120.0) -> list[tuple[float, bool]]:
    """(best-effort timestamp, is keyframe) of every decoded frame: exact, but it decodes the stream.

    A frame the decoder gives no timestamp (the last B-frame of an AVI with packed B-frames) is
    placed one frame interval after the previous one, as ffmpeg itself does when it cuts.
    """
    argv = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "frame=best_effort_timestamp_time,key_frame", "-of", "json=c=1", str(path)]  # fmt: skip
    try:
        frames = json.loads(run_tool(argv, timeout_s=timeout_s) or b"{}").get("frames") or []
    except json.JSONDecodeError as exc:
        raise MediaError(f"ffprobe gave unreadable output for {path.name}") from exc
    stamped: list[tuple[float, bool]] = []
    for frame in frames:
        t = seconds(frame.get("best_effort_timestamp_time"))
        if t is None and len(stamped) >= 2:
            t = stamped[-1][0] + (stamped[-1][0] - stamped[-2][0])
        if t is not None:
            stamped.append((t, str(frame.get("key_frame")) == "1"))
    return stamped


def read_timeline(path: Path, timeout_s: float = 120.0) -> Timeline:
    """Frame times, fps, rotation and size of the first video stream; MediaError if none decodable.

    Remembered per process for the last few files (keyed by size and modification time): `cut`
    reads the timeline of a source once per batch of its clips, and a source whose packets lack
    timestamps is decoded to get them.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise MediaError(f"file not found: {path.name}") from None
    return _read_timeline(str(path), stat.st_size, stat.st_mtime_ns, timeout_s)


@functools.lru_cache(maxsize=8)
def _read_timeline(name: str, size: int, mtime_ns: int, timeout_s: float) -> Timeline:
    path = Path(name)
    argv = [
        "ffprobe", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "packet=pts_time,flags:stream=width,height,avg_frame_rate,r_frame_rate:"
        "stream_tags=rotate:stream_side_data=rotation:format=start_time,format_name",
        "-of", "json=c=1", str(path),
    ]  # fmt: skip
    try:
        info = json.loads(run_tool(argv, timeout_s=timeout_s) or b"{}")
    except json.JSONDecodeError as exc:
        raise MediaError(f"ffprobe gave unreadable output for {path.name}") from exc
    streams = info.get("streams") or []
    if not streams:
        raise MediaError(f"no video stream in {path.name}")
    stream = streams[0]
    fmt = info.get("format") or {}
    start_time = seconds(fmt.get("start_time")) or 0.0
    stamped = packet_times(info.get("packets") or [])
    if stamped is None:  # some packets have no pts and it cannot be inferred: ask the decoder
        stamped = decoded_frame_times(path, timeout_s)
    frames = sorted((t - start_time, key) for t, key in stamped)
    times = [t for t, _ in frames]
    if not times:
        raise MediaError(f"no decodable video frames in {path.name}")
    fps = stream_fps(stream) or 0.0
    if fps <= 0 and len(times) > 1:
        fps = (len(times) - 1) / (times[-1] - times[0])
    return Timeline(
        times=tuple(times),
        keyframes=tuple(i for i, (_, key) in enumerate(frames) if key),
        start_time=start_time,
        fps=fps,
        rotation=stream_rotation(stream),
        width=int(stream.get("width") or 0),
        height=int(stream.get("height") or 0),
        container=str(fmt.get("format_name") or ""),
    )
