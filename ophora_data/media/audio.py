"""Decode a media file's audio with ffmpeg to 16 kHz mono float32, in chunks, never touching its video.

ffmpeg streams raw samples through a pipe; they are read a chunk at a time into one buffer
sized from the known duration, so a 2 h video costs its audio (2 h x 16 kHz x 4 B = 460 MB)
once, not its frames and not a second copy. `stream_audio` yields the chunks for callers
that can work piecewise.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ophora_data.media.runner import MediaError, require_tool

SAMPLE_RATE = 16_000
_BYTES_PER_SAMPLE = 4  # float32
_KNOWN_ERRORS = (
    ("matches no streams", "no audio stream"),
    ("does not contain any stream", "no audio stream"),
    ("Output file #0 does not contain any stream", "no audio stream"),
    ("Invalid data found when processing input", "not a media file (invalid data)"),
    ("No such file or directory", "file not found"),
)


def audio_argv(path: Path, sample_rate: int = SAMPLE_RATE, max_duration_s: float | None = None) -> list[str]:
    """ffmpeg: first audio stream only (`-vn`: video is never decoded), downmixed, resampled, f32le."""
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-vn",
            "-sn", "-dn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-acodec", "pcm_f32le"]
    if max_duration_s is not None:
        argv += ["-t", f"{max_duration_s:.3f}"]
    return [*argv, "pipe:1"]


def _reason(stderr: str, returncode: int) -> str:
    for needle, reason in _KNOWN_ERRORS:
        if needle in stderr:
            return reason
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"ffmpeg failed: {' | '.join(lines[-3:]) or f'exit code {returncode}'}"


def stream_audio(path: Path, sample_rate: int = SAMPLE_RATE, chunk_s: float = 30.0,
                 max_duration_s: float | None = None) -> Iterator[np.ndarray]:
    """Yield float32 mono chunks of `chunk_s` seconds (the last may be shorter); MediaError on failure."""
    require_tool("ffmpeg")
    if not path.exists():
        raise MediaError(f"file not found: {path.name}")
    chunk_bytes = max(1, int(chunk_s * sample_rate)) * _BYTES_PER_SAMPLE
    # stderr goes to a file, not a pipe: a chatty ffmpeg can never block on a full stderr pipe.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(audio_argv(path, sample_rate, max_duration_s), stdout=subprocess.PIPE,
                                   stderr=errors, stdin=subprocess.DEVNULL)
        assert process.stdout is not None
        try:
            while True:
                data = process.stdout.read(chunk_bytes)
                if not data:
                    break
                usable = len(data) - len(data) % _BYTES_PER_SAMPLE
                yield np.frombuffer(data[:usable], dtype=np.float32).copy()
            returncode = process.wait()
        finally:
            if process.poll() is None:  # the consumer stopped early: do not leave ffmpeg running
                process.kill()
                process.wait()
            process.stdout.close()
        if returncode != 0:
            errors.seek(0)
            raise MediaError(_reason(errors.read().decode("utf-8", "replace"), returncode))


def load_audio(path: Path, sample_rate: int = SAMPLE_RATE, expected_duration_s: float | None = None,
               max_duration_s: float | None = None) -> np.ndarray:
    """The whole audio track as one float32 mono array at `sample_rate` (what WhisperX consumes)."""
    capacity = int(((expected_duration_s or 0.0) + 1.0) * sample_rate)
    buffer = np.empty(capacity, dtype=np.float32)
    filled = 0
    for chunk in stream_audio(path, sample_rate, max_duration_s=max_duration_s):
        if filled + chunk.size > buffer.size:  # duration unknown or understated: grow geometrically
            grown = np.empty(max(buffer.size * 2, filled + chunk.size), dtype=np.float32)
            grown[:filled] = buffer[:filled]
            buffer = grown
        buffer[filled : filled + chunk.size] = chunk
        filled += chunk.size
    return buffer[:filled].copy() if filled < buffer.size // 2 else buffer[:filled]
