"""Stable, readable ids: YouTube's 11-char id, a content hash for local files, `<video_id>_<n>` clips.

Ids use only [A-Za-z0-9_-]: WebDataset splits keys on dots.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com")
_PATH_FORMS = ("shorts", "embed", "live", "v", "e")


class UnusableSource(ValueError):
    """A source line that names no single video; the message is the row's reason."""


def is_valid_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))


def youtube_video_id(url: str) -> str | None:
    """The 11-char id of any common YouTube URL form, None for a non-YouTube URL.

    Raises UnusableSource for YouTube URLs that name no single video (playlists, channels).
    """
    text = url.strip()
    if not re.match(r"^[a-z]+://", text, re.I):
        text = "https://" + text
    parsed = urlparse(text)
    host = (parsed.hostname or "").lower()
    if not any(host == h or host.endswith("." + h) for h in _YOUTUBE_HOSTS):
        return None
    query = parse_qs(parsed.query)
    parts = [p for p in parsed.path.split("/") if p]
    candidate: str | None = None
    if host.endswith("youtu.be"):
        candidate = parts[0] if parts else None
    elif parts[:1] == ["watch"]:
        candidate = (query.get("v") or [None])[0]
    elif len(parts) >= 2 and parts[0] in _PATH_FORMS:
        candidate = parts[1]
    if candidate and YOUTUBE_ID.match(candidate):
        return candidate
    if "list" in query or parts[:1] == ["playlist"]:
        raise UnusableSource("playlist URL: list its videos instead (playlists are not expanded)")
    if candidate:
        raise UnusableSource(f"malformed YouTube video id {candidate!r}")
    raise UnusableSource("YouTube URL names no video (channel, search or home page)")


def file_content_hash(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def local_video_id(sha256: str, prefix: str = "local-", hex_chars: int = 16) -> str:
    return f"{prefix}{sha256[:hex_chars]}"


def generic_url_id(url: str) -> str:
    """A stable id for a non-YouTube URL (yt-dlp's generic extractor)."""
    return "url-" + hashlib.sha256(url.strip().encode()).hexdigest()[:16]


def clip_id(video_id: str, index: int) -> str:
    return f"{video_id}_{index}"


def video_id_of_clip(clip: str) -> str:
    return clip.rsplit("_", 1)[0]
