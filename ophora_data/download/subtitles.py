"""Subtitle files beside the video: media/raw/<video_id>.<lang>.vtt, for `transcribe` to import."""

from __future__ import annotations

import os
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def subtitle_path(raw_dir: Path, video_id: str, lang: str, suffix: str = ".vtt") -> Path:
    """Language codes come from the platform: keep them to [A-Za-z0-9_-] for a safe file name."""
    safe = _UNSAFE.sub("-", lang).strip("-") or "und"
    return raw_dir / f"{video_id}.{safe}{suffix or '.vtt'}"


def place_subtitles(files: dict[str, Path], raw_dir: Path, video_id: str) -> list[str]:
    """Move downloaded subtitle files into place; returns their paths, sorted by language."""
    placed = []
    for lang in sorted(files):
        dest = subtitle_path(raw_dir, video_id, lang, files[lang].suffix)
        os.replace(files[lang], dest)
        placed.append(str(dest))
    return placed
