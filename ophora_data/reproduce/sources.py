"""Where each source video of a manifest is fetched from: `--sources` overrides, else the manifest URL.

A release built from local files (hospital recordings) publishes no URL for them, and a video
may have moved; `--sources FILE` (CSV/TSV/JSONL with `video_id` and `url` or `path`) says where
each one is now. Paths are relative to the file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ophora_data.reproduce.manifest import PROBLEM, Record
from ophora_data.sources.parse import SourceEntry, from_path, from_token


class SourcesUnreadable(ValueError):
    """The --sources file cannot be used; the message names the line."""


def _rows(path: Path) -> list[tuple[str, dict[str, str]]]:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((f"{path.name}:{number}", dict(json.loads(line))))
                except (json.JSONDecodeError, TypeError, ValueError) as exc:
                    raise SourcesUnreadable(f"{path.name}:{number}: not a JSON object ({exc})") from exc
        return rows
    with open(path, encoding="utf-8-sig", newline="") as handle:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        return [(f"{path.name}:{n}", r) for n, r in enumerate(csv.DictReader(handle, dialect=dialect), start=2)]


def read_sources(path: Path) -> dict[str, SourceEntry]:
    """video_id -> where to get it. Raises SourcesUnreadable on a row without video_id or location."""
    out: dict[str, SourceEntry] = {}
    for origin, row in _rows(path):
        fields = {str(k).strip().lower(): str(v).strip() for k, v in row.items() if k is not None and v}
        video_id = fields.get("video_id")
        if not video_id or not (fields.get("url") or fields.get("path")):
            raise SourcesUnreadable(f"{origin}: a row needs video_id and url or path")
        out[video_id] = (from_token(fields["url"], origin) if fields.get("url")
                         else from_path(path.parent / fields["path"], origin))
    return out


def locations(records: list[Record], overrides: dict[str, SourceEntry]) -> dict[str, SourceEntry]:
    """One entry per video of the manifest: the override, else the recorded URL, else a rejection."""
    out: dict[str, SourceEntry] = {}
    for record in records:
        video_id = record.get("video_id")
        if record.get(PROBLEM) or not video_id or video_id in out:
            continue
        url = (record.get("source") or {}).get("url")
        if video_id in overrides:
            out[video_id] = overrides[video_id]
        elif url:
            out[video_id] = from_token(str(url), "manifest")
        else:
            out[video_id] = SourceEntry("manifest", video_id, "rejected", reason=(
                "no source location: the release records no URL for this video (a local file in the "
                "original run); give it with --sources FILE (video_id,url|path)"))
    return out
