"""`probe`: ffprobe metadata for every local or downloaded video.

`duration_s` is where the picture ends in playback time (the bound for clip windows), with
`duration_source` saying how it was found (`media/duration.py`): a header without a duration,
as browser recordings have, is measured from its packets instead of being called corrupt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from ophora_data.media.probe import probe_file
from ophora_data.media.runner import MediaError
from ophora_data.run.ids import file_content_hash
from ophora_data.stages.base import Row, Stage


class ProbeStage(Stage):
    name: ClassVar[str] = "probe"
    needs: ClassVar[tuple[str, ...]] = ("ingest",)
    config_sections: ClassVar[tuple[str, ...]] = ("probe",)

    def media_path(self, ingest_row: Row, downloaded: set[str] | None = None) -> Path | None:
        """The downloaded file when there is one, else the local source itself. `downloaded`: the
        names in media/raw, listed once for many rows (one directory read, not a stat per video)."""
        raw = self.run.raw_video(ingest_row["video_id"])
        if (raw.name in downloaded) if downloaded is not None else raw.exists():
            return raw
        local = ingest_row.get("local_path")
        return Path(local) if local else None

    def downloaded(self) -> set[str]:
        """The file names in media/raw: one directory read for every source, not a stat each."""
        raw_dir = self.run.raw_dir
        return {entry.name for entry in os.scandir(raw_dir)} if raw_dir.is_dir() else set()

    def items(self) -> list[Row]:
        """Sources with a file on disk; URL sources wait for `download`."""
        items = []
        downloaded = self.downloaded()
        for row in self.upstream_ok("ingest", ["video_id", "local_path", "sha256"]):
            path = self.media_path(row, downloaded)
            if path is not None:
                # A local source's bytes were hashed by ingest (its id is that hash; download
                # re-checks it before linking): no need to read a multi-GB file twice.
                items.append({"video_id": row["video_id"], "path": str(path), "sha256": row.get("sha256")})
        return items

    def work_keys_sql(self) -> str:
        """The items' video ids without building them: ok sources with a local path or a
        downloaded file (the same rule as `media_path`)."""
        suffix = self.run.raw_video("").name
        downloaded = self.db.strings_table("_downloaded", "video_id",
                                           [n[: -len(suffix)] for n in self.downloaded() if n.endswith(suffix)])
        ingest = self.db.ok_first_rows_sql("ingest", ["video_id", "local_path"], ordered=False)
        return (f"SELECT video_id FROM ({ingest}) WHERE coalesce(local_path, '') <> '' "
                f"OR video_id IN (SELECT video_id FROM {downloaded})")

    def process(self, item: Row) -> list[Row]:
        path = Path(item["path"])
        try:
            meta = probe_file(path, self.config.probe.timeout_s)
        except MediaError as exc:
            # The same bytes would fail the same way: retried only with --retry-failed.
            return [
                {
                    "video_id": item["video_id"],
                    "path": str(path),
                    "status": "failed",
                    "reason": str(exc),
                    "retryable": False,
                }
            ]
        sha256 = item.get("sha256") or (file_content_hash(path) if self.config.probe.hash_files else None)
        return [
            {"video_id": item["video_id"], "path": str(path), "status": "ok", "reason": "", **meta, "sha256": sha256}
        ]
