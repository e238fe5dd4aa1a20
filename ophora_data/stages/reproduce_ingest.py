"""`ingest` fed from a release manifest: one row per source video, keeping the manifest's video id.

Same table, same columns and config hash as the normal `ingest`, so the normal `download` and
`probe` stages fetch and probe the sources unchanged. The video id is the manifest's (clip ids
are `<video_id>_<n>` and must equal the release's), not one derived from today's URL.
"""

from __future__ import annotations

from typing import ClassVar

from ophora_data.config import Config
from ophora_data.run.workdir import RunDir
from ophora_data.sources.parse import SourceEntry
from ophora_data.stages.base import Row
from ophora_data.stages.ingest import IngestStage, file_content_hash_safe


class ManifestIngestStage(IngestStage):
    parallel: ClassVar[bool] = False

    def __init__(self, config: Config, run: RunDir, locations: dict[str, SourceEntry]) -> None:
        super().__init__(config, run, sources=[])
        self.locations = locations

    def items(self) -> list[Row]:
        return [self._entry_item(video_id, entry) for video_id, entry in sorted(self.locations.items())]

    def _entry_item(self, video_id: str, entry: SourceEntry) -> Row:
        sha256 = None
        reason = entry.reason
        if entry.kind == "local" and entry.path:
            sha256 = file_content_hash_safe(entry.path)
            reason = reason or ("" if sha256 else "file could not be read")
        return {"video_id": video_id, "source_kind": entry.kind, "url": entry.url, "local_path": entry.path,
                "sha256": sha256, "origin": entry.origin, "raw": entry.raw, "reason": reason, "duplicates": 0}
