"""Frames of a clip as planar YUV 4:2:0 (I420) through ffmpeg pipes: decode once, convert only what is looked at.

The privacy stage looks at a few frames of every clip (the detectors want RGB) and rewrites
every frame of a redacted one. Decoding to I420 (the pixel format of every cut clip) and
encoding from it skips two colour conversions per frame, and pixels outside the boxes reach
the encoder exactly as decoded: the redaction costs a decode and an encode, like a plain
re-encode (benchmarks/privacy.py measures both). Only sampled frames are converted to RGB.

Frames come in display orientation (ffmpeg applies rotation metadata, as the frame readers in
`media/frames.py` do) and cropped to even width and height (4:2:0 needs them; the encoder
would drop the odd row or column anyway). Frame i of a reader is frame i of the clip's packet
timeline (`media/timeline.py`): `-fps_mode passthrough` neither drops nor repeats frames, and a
reader that yields another count than the timeline raises MediaError.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ophora_data.media.runner import MediaError, require_tool
from ophora_data.media.timeline import Timeline, read_timeline

EVEN_CROP = "crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0"


def i420_size(timeline: Timeline) -> tuple[int, int]:
    """(width, height) of the frames a reader yields: display size, cropped to even numbers."""
    width, height = timeline.display_size
    return width // 2 * 2, height // 2 * 2


def planes(frame: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views (Y: height x width, U and V: height/2 x width/2) into one I420 frame buffer."""
    luma = width * height
    quarter = luma // 4
    flat = frame.reshape(-1)
    return (flat[:luma].reshape(height, width),
            flat[luma : luma + quarter].reshape(height // 2, width // 2),
            flat[luma + quarter : luma + 2 * quarter].reshape(height // 2, width // 2))


def to_rgb(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """An I420 frame as (height, width, 3) uint8 RGB (OpenCV's BT.601 conversion)."""
    import cv2

    return cv2.cvtColor(frame.reshape(height * 3 // 2, width), cv2.COLOR_YUV2RGB_I420)


class YuvReader:
    """Iterate `(index, frame)` over a clip's frames 0..stop-1 (all by default); `frame` is a flat
    uint8 I420 buffer of `width * height * 3 // 2` bytes, a new array each time (safe to keep).

    One ffmpeg process, one decoder thread (the executor's workers use the cores). Raises
    MediaError when ffmpeg fails or yields another number of frames than the packet timeline.
    """

    def __init__(self, path: Path, timeline: Timeline | None = None, stop: int | None = None,
                 timeout_s: float = 600.0) -> None:
        self.path = Path(path)
        self.timeline = timeline or read_timeline(self.path)
        self.total = self.timeline.total_frames
        self.stop = self.total if stop is None else max(0, min(stop, self.total))
        self.width, self.height = i420_size(self.timeline)
        if self.width < 2 or self.height < 2:
            raise MediaError(f"{self.path.name}: no picture to decode ({self.width}x{self.height})")
        self.frame_bytes = self.width * self.height * 3 // 2
        self.timeout_s = timeout_s

    def argv(self) -> list[str]:
        return [require_tool("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
                "-i", str(self.path), "-map", "0:v:0", "-vf", EVEN_CROP, "-fps_mode", "passthrough",
                "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self.stop == 0:
            return
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=stderr, bufsize=0)
            assert process.stdout is not None
            index, complete, extra = 0, False, False
            try:
                while index < self.stop:
                    frame = self._read(process.stdout)
                    if frame is None:
                        break
                    yield index, frame
                    index += 1
                if index == self.stop < self.total:
                    return  # enough frames: the decoder is stopped below
                extra = index == self.stop and self._read(process.stdout) is not None
                complete = True
            finally:
                if not complete or extra:
                    process.kill()  # stopped early, or the consumer gave up
                process.stdout.close()
                try:
                    code = process.wait(timeout=self.timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    raise MediaError(f"ffmpeg decoding {self.path.name} timed out after {self.timeout_s:.0f}s"
                                     ) from None
            stderr.seek(0)
            lines = [ln for ln in stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        if not extra and code != 0:
            raise MediaError(f"ffmpeg cannot decode {self.path.name}: {' | '.join(lines[-3:]) or code}")
        if extra or index != self.stop:
            raise MediaError(f"ffmpeg decodes {'more than ' if extra else ''}{index} frames of {self.path.name}, "
                             f"its packet index has {self.total}")

    def _read(self, stream) -> np.ndarray | None:  # noqa: ANN001 - a raw pipe
        frame = np.empty(self.frame_bytes, np.uint8)
        view, got = memoryview(frame), 0
        while got < self.frame_bytes:
            count = stream.readinto(view[got:])
            if not count:
                if got:
                    raise MediaError(f"ffmpeg stopped inside a frame of {self.path.name}")
                return None
            got += count
        return frame


@dataclass
class DecodedClip:
    """Every frame of a clip as a `YuvReader` over it yields them, kept in memory: iterating gives
    `(index, frame)` again, and `width`, `height`, `timeline` are the reader's. The scan keeps one
    for the redaction of a clip that fits `privacy.frame_memory_mb` (one decode fewer)."""

    timeline: Timeline
    width: int
    height: int
    frames: list[np.ndarray]

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        return enumerate(self.frames)


def read_rgb_frames(path: Path, indices: Sequence[int], timeline: Timeline | None = None) -> dict[int, np.ndarray]:
    """RGB frames at `indices` (decoding stops after the last one): {index: (H, W, 3) uint8}."""
    wanted = set(indices)
    if not wanted:
        return {}
    reader = YuvReader(path, timeline, stop=max(wanted) + 1)
    return {i: to_rgb(f, reader.width, reader.height) for i, f in reader if i in wanted}
