"""The one place that runs ffmpeg/ffprobe: timeouts, readable errors, versions."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence


class MediaError(RuntimeError):
    """An external media tool failed; the message is short enough for a row's reason."""


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MediaError(f"{name} not found on PATH: install it (Debian/Ubuntu: apt-get install ffmpeg)")
    return path


def run_tool(argv: Sequence[str], timeout_s: float = 600.0, input_bytes: bytes | None = None) -> bytes:
    """Run a tool, return stdout; raise MediaError with the tail of stderr on failure."""
    require_tool(argv[0])
    try:
        done = subprocess.run(list(argv), input=input_bytes, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{argv[0]} timed out after {timeout_s:.0f}s") from exc
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        raise MediaError(f"{argv[0]} failed: {' | '.join(lines[-3:]) or f'exit code {done.returncode}'}")
    return done.stdout


@functools.cache
def tool_version(name: str) -> str:
    """First line of `<tool> -version`, e.g. 'ffmpeg version 5.1.6-0+deb12u1'."""
    try:
        first = run_tool([name, "-version"], timeout_s=30).decode().splitlines()[0]
    except (MediaError, IndexError):
        return "unknown"
    return " ".join(first.split()[:3])
