"""Frame sampling for later stages (scoring, privacy): N frames uniformly, every n-th, or at a fixed fps.

One reader interface (`FrameReader`) with two implementations: torchcodec (default,
faster here: see docs/cut_quality.md) and decord (optional). Frame indices and times
come from the packet timeline (`media/timeline.py`), so variable frame rate sources
are sampled exactly; readers seek to the wanted frames instead of decoding the whole
clip where the frames are far apart. Frames are uint8 RGB in display orientation
(rotation metadata applied).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ophora_data.media.runner import MediaError
from ophora_data.media.timeline import Timeline, read_timeline

DEFAULT_READER = "torchcodec"
READER_ENV = "OPHORA_FRAME_READER"


@dataclass(frozen=True)
class SampledFrames:
    frames: np.ndarray  # (N, H, W, 3) uint8 RGB, display orientation
    indices: list[int]  # frame indices in the video
    timestamps: list[float]  # seconds from the start of the file
    fps: float
    total_frames: int


class FrameReader(Protocol):
    """Decodes given frames of one video, returned as (N, H, W, 3) uint8 RGB in display orientation."""

    name: str

    def read(self, path: Path, timeline: Timeline, indices: Sequence[int]) -> np.ndarray: ...

    def read_range(
        self, path: Path, timeline: Timeline, start: int, stop: int, batch_size: int = 32
    ) -> Iterator[np.ndarray]:
        """Frames start..stop-1 in order, decoded sequentially, in batches."""
        ...


def _rotate(frames: np.ndarray, rotation: int) -> np.ndarray:
    """Apply counter-clockwise display rotation to (N, H, W, 3) frames (what ffmpeg's autorotate shows)."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(frames, k=turns, axes=(1, 2))) if turns else frames


class TorchcodecReader:
    """torchcodec on CPU, exact seek mode: frame indices are exact also for variable frame rate.

    (Time-based access in approximate mode cannot reach the last frame of files whose header
    duration stops at its start time, which ffmpeg writes for VFR streams.)
    """

    name = "torchcodec"

    def _decoder(self, path: Path, timeline: Timeline):  # noqa: ANN202 - torchcodec type
        from torchcodec.decoders import VideoDecoder

        decoder = VideoDecoder(str(path), dimension_order="NHWC", seek_mode="exact", num_ffmpeg_threads=1)
        if len(decoder) != timeline.total_frames:
            raise MediaError(
                f"torchcodec sees {len(decoder)} frames, the packet index {timeline.total_frames}"
            )
        return decoder

    def read(self, path: Path, timeline: Timeline, indices: Sequence[int]) -> np.ndarray:
        # Sorted indices: torchcodec decodes forward and seeks only across keyframes when that is cheaper.
        batch = self._decoder(path, timeline).get_frames_at(indices=list(indices))
        return _rotate(batch.data.numpy(), timeline.rotation)

    def read_range(
        self, path: Path, timeline: Timeline, start: int, stop: int, batch_size: int = 32
    ) -> Iterator[np.ndarray]:
        decoder = self._decoder(path, timeline)
        for first in range(start, stop, batch_size):
            batch = decoder.get_frames_in_range(first, min(first + batch_size, stop))
            yield _rotate(batch.data.numpy(), timeline.rotation)


class DecordReader:
    """decord (optional). It applies rotation itself and has its own frame index: mapped by time."""

    name = "decord"

    def _open(self, path: Path, timeline: Timeline):  # noqa: ANN202 - decord type
        try:
            import decord
        except ImportError as exc:
            raise MediaError("the decord frame reader needs `pip install decord`") from exc
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        own_times = reader.get_frame_timestamp(np.arange(len(reader)))[:, 0]
        return reader, np.asarray(own_times) - timeline.start_time

    def read(self, path: Path, timeline: Timeline, indices: Sequence[int]) -> np.ndarray:
        reader, own_times = self._open(path, timeline)
        wanted = [timeline.times[i] for i in indices]
        own = [int(np.abs(own_times - t).argmin()) for t in wanted]
        return reader.get_batch(own).asnumpy()

    def read_range(
        self, path: Path, timeline: Timeline, start: int, stop: int, batch_size: int = 32
    ) -> Iterator[np.ndarray]:
        reader, _ = self._open(path, timeline)
        stop = min(stop, len(reader))
        for first in range(start, stop, batch_size):
            yield reader.get_batch(list(range(first, min(first + batch_size, stop)))).asnumpy()


READERS: dict[str, type[FrameReader]] = {"torchcodec": TorchcodecReader, "decord": DecordReader}


def get_reader(name: str | None = None) -> FrameReader:
    """The reader named, else $OPHORA_FRAME_READER, else torchcodec (measured fastest here)."""
    name = name or os.environ.get(READER_ENV) or DEFAULT_READER
    if name not in READERS:
        raise ValueError(f"unknown frame reader {name!r}; choose one of {', '.join(READERS)}")
    return READERS[name]()


def sample_indices(
    timeline: Timeline, count: int | None = None, every_n: int | None = None, fps: float | None = None
) -> list[int]:
    """Frame indices for one sampling rule (exactly one of count / every_n / fps)."""
    given = [
        name for name, value in (("count", count), ("every_n", every_n), ("fps", fps)) if value is not None
    ]
    if len(given) != 1:
        raise ValueError(f"give exactly one of count, every_n, fps (got {', '.join(given) or 'none'})")
    total = timeline.total_frames
    if count is not None:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        # The middle frame of each of `count` equal spans: uniform, and never biased to the ends.
        return sorted({min(total - 1, int((k + 0.5) * total / count)) for k in range(count)})
    if every_n is not None:
        if every_n < 1:
            raise ValueError(f"every_n must be >= 1, got {every_n}")
        return list(range(0, total, every_n))
    assert fps is not None
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    first, end = timeline.times[0], timeline.times[0] + timeline.duration
    # Ticks at first + k/fps strictly before the end; 10 us of slack absorbs printed-time rounding.
    steps = int(np.floor((end - first - 1e-5) * fps)) + 1
    # The frame on screen at each tick; a tick finer than the video repeats no frame.
    return sorted({timeline.index_at(first + k / fps) for k in range(steps)})


def sample_frames(
    path: Path,
    count: int | None = None,
    every_n: int | None = None,
    fps: float | None = None,
    *,
    reader: str | None = None,
) -> SampledFrames:
    """Decode frames of a video: `count` uniformly, every `every_n`-th, or at `fps` frames per second.

    Raises MediaError when the file has no decodable video frame.
    """
    path = Path(path)
    timeline = read_timeline(path)
    indices = sample_indices(timeline, count=count, every_n=every_n, fps=fps)
    chosen = get_reader(reader)
    try:
        frames = chosen.read(path, timeline, indices)
    except MediaError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoder libraries raise anything
        raise MediaError(f"cannot decode frames of {path.name}: {type(exc).__name__}: {exc}") from exc
    if len(frames) != len(indices):
        raise MediaError(f"decoded {len(frames)} of {len(indices)} frames of {path.name} (truncated file?)")
    return SampledFrames(
        frames=frames,
        indices=list(indices),
        timestamps=[timeline.times[i] for i in indices],
        fps=timeline.fps,
        total_frames=timeline.total_frames,
    )


def iter_frames(path: Path, batch_size: int = 32, *, reader: str | None = None) -> Iterator[SampledFrames]:
    """Every frame of a video in order, in batches (for re-encoding every frame, e.g. blurring)."""
    path = Path(path)
    timeline = read_timeline(path)
    next_index = 0
    chosen = get_reader(reader)
    try:
        for frames in chosen.read_range(path, timeline, 0, timeline.total_frames, batch_size):
            indices = list(range(next_index, next_index + len(frames)))
            next_index += len(frames)
            yield SampledFrames(
                frames=frames,
                indices=indices,
                timestamps=[timeline.times[i] for i in indices],
                fps=timeline.fps,
                total_frames=timeline.total_frames,
            )
    except MediaError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoder libraries raise anything
        raise MediaError(f"cannot decode frames of {path.name}: {type(exc).__name__}: {exc}") from exc
    if next_index == 0:
        raise MediaError(f"no decodable video frames in {path.name}")
