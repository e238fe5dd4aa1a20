"""Pipe raw frames into ffmpeg: the one encoder behind the demo video, redaction and samples."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Sequence
from types import TracebackType

import numpy as np

from ophora_data.media.runner import MediaError, require_tool

# Bytes per pixel of the raw formats written here: packed RGB, and planar 4:2:0 YUV (I420).
BYTES_PER_PIXEL = {"rgb24": 3.0, "yuv420p": 1.5}


class RawVideoEncoder:
    """`with RawVideoEncoder(w, h, fps, output_args) as enc: enc.write(frame)`; raises MediaError on failure.

    `output_args` is everything after the piped input (more inputs, maps, codecs, the output path).
    `pix_fmt`: `rgb24` ((H, W, 3) frames) or `yuv420p` (I420 planes, W*H*1.5 bytes per frame: what
    redaction writes back after blurring in YUV, with no colour conversion).
    """

    def __init__(self, width: int, height: int, fps: float, output_args: Sequence[str], timeout_s: float = 600.0,
                 pix_fmt: str = "rgb24"):
        self.argv = [require_tool("ffmpeg"), "-y", "-nostdin", "-loglevel", "error", "-f", "rawvideo",
                     "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-framerate", f"{fps:.6f}",
                     "-i", "pipe:0", *output_args]
        self.frame_bytes = int(width * height * BYTES_PER_PIXEL[pix_fmt])
        self.timeout_s = timeout_s
        self.frames_written = 0
        self._closed = False
        # Lives as long as the process; closed in close() or __exit__.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr
        )

    def write(self, frame: np.ndarray) -> None:
        assert self._process.stdin is not None and frame.size == self.frame_bytes
        try:
            self._process.stdin.write(memoryview(np.ascontiguousarray(frame, np.uint8)).cast("B"))
        except BrokenPipeError:
            self.close()  # ffmpeg died: close() raises with its message
        self.frames_written += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._process.stdin and not self._process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
        try:
            code = self._process.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            self._stderr.close()
            raise MediaError(f"ffmpeg encode timed out after {self.timeout_s:.0f}s") from None
        self._stderr.seek(0)
        lines = [ln for ln in self._stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        self._stderr.close()
        if code != 0:
            raise MediaError(f"ffmpeg encode failed: {' | '.join(lines[-3:]) or f'exit code {code}'}")

    def __enter__(self) -> RawVideoEncoder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def abort(self) -> None:
        """Kill the encoder (an error upstream): never leave a half-fed ffmpeg behind."""
        if not self._closed:
            self._closed = True
            self._process.kill()
            self._process.wait()
            self._stderr.close()
