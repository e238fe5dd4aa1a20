"""Turn `ingest`'s arguments into source entries: URLs, lists, tables, video files and folders.

A video is a source whatever its name: files with a known video extension are taken as they are
(the probe stage checks them), and any other file is asked about with `sniff` (ffprobe in
practice) when the caller gives one. Every argument yields at least one entry, so a file that is
neither a video nor a readable text list becomes a rejected row with the reason, never an
exception and never silence. Folder scans pass over hidden files and the configured sidecar
extensions (transcripts, subtitles, pictures, audio) without a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ophora_data.sources.parse import (
    STRIP_CHARS,
    URL_LIKE,
    SourceEntry,
    from_csv,
    from_jsonl,
    from_path,
    from_text_list,
    from_token,
    unreadable,
)
from ophora_data.sources.textfile import sniff_text

# path -> "" when ffprobe reads it as video, else the reason it is not one.
Sniff = Callable[[Path], str]
_TABLES = {".csv": from_csv, ".tsv": from_csv, ".jsonl": from_jsonl, ".ndjson": from_jsonl}


def _lower(extensions: Iterable[str]) -> set[str]:
    return {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}


def _probed(path: Path, origin: str, sniff: Sniff | None, why_not_text: str) -> SourceEntry:
    """A file that is no text list: a local source when ffprobe reads it as video, else rejected."""
    reason = sniff(path) if sniff is not None else "ffprobe was not asked (ingest.probe_unknown=false)"
    if not reason:
        return from_path(path, origin)
    detail = f"{why_not_text}; ffprobe: {reason}" if why_not_text else reason
    return SourceEntry(origin, str(path), "rejected", reason=f"neither a video nor a text list of sources ({detail})")


def from_file(path: Path, videos: set[str], sniff: Sniff | None) -> Iterator[SourceEntry]:
    """One file named on the command line."""
    suffix = path.suffix.lower()
    if suffix in videos:
        yield from_path(path, "argv")
        return
    if suffix in _TABLES:
        yield from _TABLES[suffix](path)
        return
    try:
        why_not_text = sniff_text(path)
    except OSError as exc:
        yield unreadable(path, "argv", exc)
        return
    if why_not_text:
        yield _probed(path, "argv", sniff, why_not_text)
    else:
        yield from from_text_list(path)


def scan_folder(folder: Path, videos: set[str], skip: set[str], sniff: Sniff | None) -> Iterator[SourceEntry]:
    """Every video under `folder` (recursively, sorted), and a rejected entry for each other file
    that is neither hidden, nor a known sidecar, nor a video ffprobe can read."""
    origin = str(folder)
    try:
        children = sorted(folder.rglob("*"))
    except OSError as exc:
        yield SourceEntry(origin, origin, "rejected", reason=f"cannot list the folder ({exc})")
        return
    for child in children:
        hidden = any(part.startswith(".") for part in child.relative_to(folder).parts)
        if hidden or not child.is_file():
            continue
        suffix = child.suffix.lower()
        if suffix in videos:
            yield from_path(child, origin)
        elif suffix not in skip and sniff is not None:
            yield _probed(child, origin, sniff, "")


def expand(
    arguments: list[str],
    video_extensions: Iterable[str],
    skip_extensions: Iterable[str] = (),
    sniff: Sniff | None = None,
) -> Iterator[SourceEntry]:
    """Every source argument, expanded into entries (in order).

    `video_extensions` are taken as videos without probing; `skip_extensions` are passed over in
    folder scans; `sniff(path)` (e.g. `media.probe.not_video_reason`) decides about other files,
    and without it such files are skipped in folders and rejected when named.
    """
    videos, skip = _lower(video_extensions), _lower(skip_extensions)
    for argument in arguments:
        path = Path(argument).expanduser()
        if URL_LIKE.match(argument.strip(STRIP_CHARS)):
            yield from_token(argument, "argv")
        elif path.is_dir():
            yield from scan_folder(path, videos, skip, sniff)
        elif path.is_file():
            yield from from_file(path, videos, sniff)
        else:
            yield from_token(argument, "argv")
