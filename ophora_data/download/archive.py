"""The download archive: a video that was fetched and verified is never fetched again.

The stage's table already skips done ids under the same config hash; the archive also
covers a changed `download` config (new hash, e.g. another rate limit or cookies file),
where re-fetching thousands of verified files would be wasteful and impolite. One JSON line
per verified download lives beside the files in `media/raw/`, so it travels with them.
A record is written before the file is renamed into place: a record without its file
(a kill between the two) is simply ignored.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any

ARCHIVE_NAME = ".download-archive.jsonl"
Record = dict[str, Any]


class DownloadArchive:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, Record] | None = None
        self._lock = threading.Lock()

    def records(self) -> dict[str, Record]:
        """The newest record per video_id; a torn last line (killed mid-write) is skipped."""
        with self._lock:
            if self._records is None:
                self._records = self._read()
            return self._records

    def _read(self) -> dict[str, Record]:
        records: dict[str, Record] = {}
        if not self.path.exists():
            return records
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("video_id"):
                records[record["video_id"]] = record
        return records

    def reusable(self, video_id: str, path: Path, signature: str | None = None) -> Record | None:
        """The record when its file is in place with the recorded size (and fetch signature), else None."""
        record = self.records().get(video_id)
        if record is None or not path.is_file():
            return None
        if signature is not None and record.get("fetch_signature") != signature:
            return None  # fetched with another format choice or without the subtitles now wanted
        return record if path.stat().st_size == record.get("bytes") else None

    def add(self, record: Record) -> None:
        line = json.dumps(record, sort_keys=True, default=str)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a+b") as handle:
            # flock: two download runs on one run directory append whole lines, never interleaved.
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                handle.seek(0, os.SEEK_END)
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":  # a torn line from a killed writer
                        line = "\n" + line
                handle.write((line + "\n").encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            if self._records is not None:
                self._records[record["video_id"]] = record
