"""Parse what users hand to `ingest`: URL lists (also messy quoted/comma-separated ones),
CSV/JSONL tables with `url`, `video_id` or `path` columns, local video files and folders.

Every input token yields one SourceEntry; unusable ones carry a reason instead of vanishing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ophora_data.run.ids import YOUTUBE_ID, UnusableSource, generic_url_id, youtube_video_id

SourceKind = Literal["youtube", "url", "local", "rejected"]
_URL_LIKE = re.compile(r"^(https?://|www\.|youtu\.?be)", re.I)
_STRIP = " \t\r\n\"'`,;[]<>"


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
    text = token.strip(_STRIP)
    try:
        youtube_id = youtube_video_id(text) if _URL_LIKE.match(text) else None
    except UnusableSource as exc:
        return SourceEntry(origin, text, "rejected", reason=str(exc))
    if youtube_id:
        return SourceEntry(origin, text, "youtube", youtube_id, f"https://www.youtube.com/watch?v={youtube_id}")
    if re.match(r"^https?://", text, re.I):
        return SourceEntry(origin, text, "url", generic_url_id(text), text)
    if YOUTUBE_ID.match(text):
        return SourceEntry(origin, text, "youtube", text, f"https://www.youtube.com/watch?v={text}")
    return SourceEntry(origin, text, "rejected", reason="not a URL, a YouTube id or an existing file")


def from_text_list(path: Path) -> Iterator[SourceEntry]:
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for token in re.split(r"[,\s]+", line):
            if token.strip(_STRIP):
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
    # utf-8-sig drops a leading BOM, which would otherwise rename the first column.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        for number, record in enumerate(csv.DictReader(handle, dialect=dialect), start=2):
            yield _from_record(record, f"{path.name}:{number}", path.parent)


def from_jsonl(path: Path) -> Iterator[SourceEntry]:
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
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


def expand(arguments: list[str], video_extensions: tuple[str, ...]) -> Iterator[SourceEntry]:
    """Every source argument, expanded into entries (in order)."""
    extensions = {e.lower() for e in video_extensions}
    for argument in arguments:
        path = Path(argument).expanduser()
        if _URL_LIKE.match(argument.strip(_STRIP)):
            yield from_token(argument, "argv")
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in extensions:
                    yield from_path(child, str(path))
        elif path.is_file():
            suffix = path.suffix.lower()
            if suffix in extensions:
                yield from_path(path, "argv")
            elif suffix in (".csv", ".tsv"):
                yield from from_csv(path)
            elif suffix in (".jsonl", ".ndjson"):
                yield from from_jsonl(path)
            else:
                yield from from_text_list(path)
        else:
            yield from_token(argument, "argv")
