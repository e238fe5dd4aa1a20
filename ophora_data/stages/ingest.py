"""`ingest`: normalise source lists and local files into one row per unique video.

A local file is a video source whatever its extension when ffprobe reads it as video
(`ingest.probe_unknown`); a path that is neither a video nor a readable text list becomes a
rejected row saying so (see `sources/discover.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ophora_data.config import Config
from ophora_data.run.ids import file_content_hash, local_video_id
from ophora_data.run.workdir import RunDir
from ophora_data.sources.discover import Sniff, expand
from ophora_data.sources.parse import SourceEntry
from ophora_data.stages.base import Row, Stage


class IngestStage(Stage):
    name: ClassVar[str] = "ingest"
    config_sections: ClassVar[tuple[str, ...]] = ("ingest",)
    parallel: ClassVar[bool] = False

    def __init__(self, config: Config, run: RunDir, sources: list[str] | None = None) -> None:
        super().__init__(config, run)
        self.sources = list(sources or [])

    def items(self) -> list[Row]:
        """Parse every source; duplicates (same video id, same bad line) collapse to one item."""
        cfg = self.config.ingest
        items: dict[str, Row] = {}
        for entry in expand(self.sources, cfg.video_extensions, cfg.skip_extensions, self._sniffer()):
            item = self._item(entry)
            if item["video_id"] in items:
                items[item["video_id"]]["duplicates"] += 1
            else:
                items[item["video_id"]] = item
        return list(items.values())

    def _sniffer(self) -> Sniff | None:
        """ffprobe for files whose extension says nothing (None when `ingest.probe_unknown` is off)."""
        if not self.config.ingest.probe_unknown:
            return None
        from ophora_data.media.probe import not_video_reason
        from ophora_data.media.runner import MediaError, require_tool

        try:
            require_tool("ffprobe")
        except MediaError:
            return lambda path: "ffprobe is not installed, so files with unknown extensions cannot be checked"
        timeout_s = self.config.ingest.probe_timeout_s
        return lambda path: not_video_reason(path, timeout_s)

    def _item(self, entry: SourceEntry) -> Row:
        video_id = entry.video_id
        sha256 = None
        if entry.kind == "local" and entry.path:
            sha256 = file_content_hash_safe(entry.path)
            cfg = self.config.ingest
            video_id = local_video_id(sha256, cfg.local_id_prefix, cfg.local_id_hex_chars) if sha256 else None
        return {
            "video_id": video_id or entry.rejected_id,
            "source_kind": entry.kind,
            "url": entry.url,
            "local_path": entry.path,
            "sha256": sha256,
            "origin": entry.origin,
            "raw": entry.raw,
            "reason": entry.reason or ("" if video_id else "file could not be read"),
            "duplicates": 0,
        }

    def process(self, item: Row) -> list[Row]:
        status = "rejected" if item["source_kind"] == "rejected" or item["reason"] else "ok"
        return [{**item, "status": status, "retryable": False}]


def file_content_hash_safe(path: str) -> str | None:
    try:
        return file_content_hash(Path(path))
    except OSError:
        return None
