"""Parse what users hand to `ingest`: URL lists (also messy quoted/comma-separated ones) and
CSV/JSONL tables with `url`, `video_id` or `path` columns (`sources/discover.py` decides which
argument is which, and scans folders).

Every input token yields one SourceEntry; unusable ones carry a reason instead of vanishing,
including a list that cannot be read as text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ophora_data.run.ids import YOUTUBE_ID, UnusableSource, generic_url_id, youtube_video_id
from ophora_data.sources.textfile import NotText, read_text

SourceKind = Literal["youtube", "url", "local", "rejected"]
URL_LIKE = re.compile(r"^(https?://|www\.|youtu\.?be)", re.I)
STRIP_CHARS = " \t\r\n\"'`,;[]<>"


@dataclass
class SourceEntry:
    origin: str
    raw: str
    kind: SourceKind
    video_id: str | None = None
    url: str | None = None
    path: str | None = None
    reason: str = ""

    @property
    def rejected_id(self) -> str:
        return "rejected-" + hashlib.sha1(self.raw.encode()).hexdigest()[:12]


def from_token(token: str, origin: str) -> SourceEntry:
    """One URL or id as written by a person."""
    text = token.strip(STRIP_CHARS)
    try:
        youtube_id = youtube_video_id(text) if URL_LIKE.match(text) else None
    except UnusableSource as exc:
        return SourceEntry(origin, text, "rejected", reason=str(exc))
    if youtube_id:
        return SourceEntry(origin, text, "youtube", youtube_id, f"https://www.youtube.com/watch?v={youtube_id}")
    if re.match(r"^https?://", text, re.I):
        return SourceEntry(origin, text, "url", generic_url_id(text), text)
    if YOUTUBE_ID.match(text):
        return SourceEntry(origin, text, "youtube", text, f"https://www.youtube.com/watch?v={text}")
    return SourceEntry(origin, text, "rejected", reason="not a URL, a YouTube id or an existing file")


def unreadable(path: Path, origin: str, exc: Exception) -> SourceEntry:
    """The one rejected entry of a list or table that cannot be read as text."""
    detail = str(exc) if isinstance(exc, NotText) else f"cannot read the file ({type(exc).__name__}: {exc})"
    return SourceEntry(origin, str(path), "rejected", reason=f"not a readable source list: {detail}")


def _text(path: Path) -> str | SourceEntry:
    try:
        return read_text(path)
    except (NotText, OSError) as exc:
        return unreadable(path, path.name, exc)


def from_text_list(path: Path) -> Iterator[SourceEntry]:
    text = _text(path)
    if isinstance(text, SourceEntry):
        yield text
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for token in re.split(r"[,\s]+", line):
            if token.strip(STRIP_CHARS):
                yield from_token(token, f"{path.name}:{number}")


def _from_record(record: dict[str, str], origin: str, base: Path) -> SourceEntry:
    fields = {str(k).strip().lower(): str(v).strip() for k, v in record.items() if k is not None and v}
    if fields.get("url"):
        return from_token(fields["url"], origin)
    if fields.get("path"):
        return from_path(base / fields["path"], origin)
    if fields.get("video_id"):
        entry = from_token(fields["video_id"], origin)
        if entry.kind == "rejected":
            entry.reason = "video_id is not a YouTube id and the row has no url or path column"
        return entry
    return SourceEntry(
        origin, json.dumps(record, sort_keys=True), "rejected", reason="row has no url, video_id or path"
    )


def from_csv(path: Path) -> Iterator[SourceEntry]:
    # read_text drops a leading BOM, which would otherwise rename the first column.
    text = _text(path)
    if isinstance(text, SourceEntry):
        yield text
        return
    dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    try:
        for number, record in enumerate(csv.DictReader(io.StringIO(text, newline=""), dialect=dialect), start=2):
            yield _from_record(record, f"{path.name}:{number}", path.parent)
    except csv.Error as exc:
        yield SourceEntry(path.name, str(path), "rejected", reason=f"malformed CSV: {exc}")


def from_jsonl(path: Path) -> Iterator[SourceEntry]:
    text = _text(path)
    if isinstance(text, SourceEntry):
        yield text
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{path.name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield SourceEntry(origin, line.strip(), "rejected", reason=f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield SourceEntry(origin, line.strip(), "rejected", reason="JSON line is not an object")
            continue
        yield _from_record(record, origin, path.parent)


def from_path(path: Path, origin: str) -> SourceEntry:
    if not path.is_file():
        return SourceEntry(origin, str(path), "rejected", reason="no such file")
    return SourceEntry(origin, str(path), "local", path=str(path.resolve()))
