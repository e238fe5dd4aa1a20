"""Decode a clip into the training tensor: N frames at a fixed fps, resized and centre-cropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ophora_data.media.rawvideo import RawVideoEncoder


def sample_times(duration_s: float, frames: int, fps: float) -> list[float]:
    """Timestamps at `fps` from the start; a clip shorter than frames/fps repeats its last frame."""
    last = max(0.0, duration_s - 1e-3)
    return [min(index / fps, last) for index in range(frames)]


def decode_clip(source: bytes | str | Path, frames: int, fps: float):  # -> torch.Tensor (F, C, H, W) uint8
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(str(source) if isinstance(source, Path) else source)
    duration = decoder.metadata.duration_seconds or (frames / fps)
    begin = decoder.metadata.begin_stream_seconds or 0.0
    times = [begin + t for t in sample_times(duration, frames, fps)]
    return decoder.get_frames_played_at(seconds=times).data


def resize_crop(video, height: int, width: int):  # (F, C, H, W) uint8 -> (F, C, height, width) float in [-1, 1]
    """Scale so the clip covers the bucket, then centre-crop (no distortion, no letterbox)."""
    import torch.nn.functional as F

    x = video.float() / 127.5 - 1.0
    scale = max(height / x.shape[-2], width / x.shape[-1])
    size = (max(height, round(x.shape[-2] * scale)), max(width, round(x.shape[-1] * scale)))
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    return x[..., top : top + height, left : left + width].clamp(-1, 1)


def write_mp4(frames: np.ndarray, path: Path, fps: float) -> Path:
    """(F, H, W, 3) uint8 RGB -> H.264 mp4 at exactly `fps`, every frame kept, written atomically."""
    count, height, width, _ = frames.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial.mp4")
    output = [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-vf",
        "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-frames:v",
        str(count),
        "-f",
        "mp4",
        str(tmp),
    ]
    try:
        with RawVideoEncoder(width, height, fps, output) as encoder:
            for frame in frames:
                encoder.write(frame)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path
