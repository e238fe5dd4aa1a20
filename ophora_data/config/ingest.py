from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ophora_data.config.base import Section

# Containers ffmpeg reads that surgical recorders, capture cards, broadcast and phone/camera
# software write. A file with another name is still a source when ffprobe reads it as video
# (`probe_unknown`).
VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".ts", ".mts", ".m2ts", ".m2t", ".tp", ".trp",
    ".mpg", ".mpeg", ".mpe", ".m1v", ".m2v", ".mp2v", ".mpv", ".vob", ".mod", ".tod", ".mxf", ".flv", ".f4v",
    ".3gp", ".3g2", ".wmv", ".asf", ".ogv", ".dv", ".dif", ".divx", ".xvid", ".nut", ".y4m", ".h264", ".264",
    ".hevc", ".h265", ".265", ".ivf", ".rm", ".rmvb", ".gxf", ".nsv", ".mjpeg", ".mjpg",
)
# Files a folder scan passes over without asking ffprobe: sidecars (transcripts, subtitles,
# metadata), pictures, audio, documents and download leftovers.
SKIP_EXTENSIONS: tuple[str, ...] = (
    ".json", ".jsonl", ".ndjson", ".srt", ".vtt", ".ass", ".ssa", ".sub", ".sbv", ".lrc", ".txt", ".csv",
    ".tsv", ".md", ".rst", ".nfo", ".xml", ".html", ".htm", ".pdf", ".doc", ".docx", ".xls", ".xlsx",
    ".ppt", ".pptx", ".odt", ".rtf", ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".heic",
    ".svg", ".ico", ".wav", ".mp3", ".flac", ".m4a", ".aac", ".opus", ".ogg", ".oga", ".wma", ".aiff",
    ".part", ".ytdl", ".tmp", ".zip", ".tar", ".gz", ".7z", ".rar", ".py", ".sh", ".yaml", ".yml", ".ini",
    ".cfg", ".log", ".db", ".sqlite", ".parquet", ".lnk", ".url", ".bdm", ".mpls", ".clpi", ".cpi", ".thm",
)


class IngestConfig(Section):
    """Which files are sources. Extensions are compared case-insensitively, with the dot."""

    # Discovery only decides which files become rows; a source's row is the same whatever these
    # say, so widening them and ingesting a folder again adds the new files without re-running
    # any stage for the old ones.
    HASH_EXCLUDE: ClassVar[frozenset[str]] = frozenset(
        {"video_extensions", "skip_extensions", "probe_unknown", "probe_timeout_s"})

    video_extensions: tuple[str, ...] = Field(
        VIDEO_EXTENSIONS, description="taken as videos without probing (the probe stage checks them)")
    skip_extensions: tuple[str, ...] = Field(
        SKIP_EXTENSIONS, description="folder scans pass over these silently (sidecars, images, audio, documents)")
    probe_unknown: bool = Field(
        True, description="ask ffprobe about files with any other extension: a video is a source whatever "
                          "its name; anything else gets a rejected row saying what it is")
    probe_timeout_s: float = Field(30.0, gt=0, description="per file probed during ingest")
    local_id_prefix: str = Field("local-", pattern=r"^[A-Za-z0-9_-]*$")
    local_id_hex_chars: int = Field(16, ge=8, le=64)
