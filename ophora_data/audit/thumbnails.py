"""Small JPEG thumbnails of clips for the audit report, cached under cache/thumbnails/.

The redacted clip is preferred (a report may travel further than the run directory), then
the cut clip, then the source video at the window's midpoint (windows rejected before
`cut` have no clip of their own). One ffmpeg call per thumbnail, input-side seek.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ophora_data.config import stable_hash
from ophora_data.media.runner import MediaError, run_tool
from ophora_data.run.atomic import atomic_write_bytes
from ophora_data.run.workdir import RunDir


@dataclass(frozen=True)
class ThumbRequest:
    clip_id: str
    source: Path
    at_s: float  # seconds into `source`


def thumbnail_argv(source: Path, at_s: float, width: int) -> list[str]:
    return ["ffmpeg", "-nostdin", "-loglevel", "error", "-ss", f"{max(0.0, at_s):.3f}", "-i", str(source),
            "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "6", "-f", "image2", "-c:v", "mjpeg",
            "pipe:1"]


def cache_path(run: RunDir, request: ThumbRequest, width: int) -> Path:
    stat = request.source.stat()
    key = stable_hash([str(request.source), stat.st_mtime_ns, stat.st_size, round(request.at_s, 3), width],
                      10)
    return run.cache_dir / "thumbnails" / f"{request.clip_id}-{key}.jpg"


def make_thumbnail(run: RunDir, request: ThumbRequest, width: int = 192) -> bytes | None:
    """JPEG bytes, or None when the source is missing or undecodable (the card shows no image)."""
    if not request.source.is_file():
        return None
    cached = cache_path(run, request, width)
    if cached.is_file():
        return cached.read_bytes()
    try:
        data = run_tool(thumbnail_argv(request.source, request.at_s, width), timeout_s=60)
    except MediaError:
        return None
    if not data:
        return None
    atomic_write_bytes(cached, data)
    return data


def make_thumbnails(run: RunDir, requests: Iterable[ThumbRequest], width: int = 192, workers: int = 2,
                    progress: bool = True) -> dict[str, bytes]:
    requests = list(requests)
    out: dict[str, bytes] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
            tqdm(total=len(requests), desc="thumbnails", unit="clip", disable=not progress) as bar:
        for request, data in zip(requests, pool.map(lambda r: make_thumbnail(run, r, width), requests),
                                 strict=True):
            if data:
                out[request.clip_id] = data
            bar.update(1)
    return out
