"""The exact presentation timeline of a video stream, read from packets (no decoding).

Frame-exact cutting and sampling need every frame's timestamp, also for variable frame
rate sources: `ffprobe -show_entries packet=pts_time` reads the container index and
packet headers only (about 0.07 s for a 2-minute 720p source). Times are seconds
relative to the file's start time, which is the origin `ffmpeg -ss` uses.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

from ophora_data.media.probe import stream_fps, stream_rotation
from ophora_data.media.runner import MediaError, run_tool


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

    def end_of(self, index: int) -> float:
        """When frame `index - 1` stops being shown: the next frame's time, or the video's end."""
        if index < len(self.times):
            return self.times[index]
        return self.times[-1] + self.last_interval

    def index_at(self, t: float) -> int:
        """The frame on screen at time t (the last frame whose time is <= t)."""
        return max(0, bisect_left(self.times, t + 1e-6) - 1)


def read_timeline(path: Path, timeout_s: float = 120.0) -> Timeline:
    """Frame times, fps, rotation and size of the first video stream; MediaError if none decodable."""
    if not path.exists():
        raise MediaError(f"file not found: {path.name}")
    argv = [
        "ffprobe", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "packet=pts_time,flags:stream=width,height,avg_frame_rate,r_frame_rate:"
        "stream_tags=rotate:stream_side_data=rotation:format=start_time",
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
    start_time = float((info.get("format") or {}).get("start_time") or 0.0)
    # Packets flagged D (discard, e.g. before an mp4 edit list start) never become frames.
    frames = sorted(
        (float(p["pts_time"]) - start_time, "K" in (p.get("flags") or ""))
        for p in info.get("packets") or []
        if p.get("pts_time") not in (None, "N/A") and "D" not in (p.get("flags") or "")
    )
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
    )
