"""Read manifest records (the `manifest` config of a release) from a folder, a tar shard or JSON lines.

A record that cannot be used is not dropped: it comes back with `_problem` set, so the
`reproduce` stage writes a failed row naming it (the smallest bad unit is one clip).
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ophora_data.media.fingerprint import Fingerprint

MANIFEST_DIR = "manifest"
PROBLEM = "_problem"
Record = dict[str, Any]


class ManifestUnreadable(ValueError):
    """No manifest records could be found at the given place (the message says where it looked)."""


def _from_tar(path: Path) -> Iterator[Record]:
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                if not member.isfile() or not member.name.endswith(".json"):
                    continue
                handle = tar.extractfile(member)
                text = handle.read().decode("utf-8") if handle else ""
                yield _parse(text, f"{path.name}:{member.name}", member.name.rsplit(".", 1)[0])
    except tarfile.TarError as exc:
        raise ManifestUnreadable(f"{path.name} is not a readable tar: {exc}") from exc


def _from_lines(path: Path) -> Iterator[Record]:
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.strip():
            yield _parse(line, f"{path.name}:{number}", f"{path.stem}-line-{number}")


def _parse(text: str, where: str, fallback_id: str) -> Record:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return {"clip_id": fallback_id, PROBLEM: f"{where}: invalid JSON ({exc.msg})"}
    if isinstance(record, dict) and isinstance(record.get("json"), dict):
        record = record["json"]  # a row of `load_dataset(..., "manifest").to_json(...)`
    if not isinstance(record, dict):
        return {"clip_id": fallback_id, PROBLEM: f"{where}: not a JSON object"}
    problem = record_problem(record)
    return {**record, PROBLEM: f"{where}: {problem}"} if problem else record


def record_problem(record: Record) -> str:
    """Why a record cannot be reproduced ('' when it can)."""
    missing = [name for name in ("clip_id", "video_id", "instruction") if not record.get(name)]
    window, clip = record.get("window") or {}, record.get("clip") or {}
    missing += [f"window.{k}" for k in ("start", "end") if window.get(k) is None]
    missing += [f"clip.{k}" for k in ("width", "height", "frames") if not clip.get(k)]
    if missing:
        return "manifest record lacks " + ", ".join(missing)
    try:
        Fingerprint.from_json(record.get("fingerprint") or {})
    except (KeyError, TypeError, ValueError) as exc:
        return f"fingerprint unusable: {exc}"
    if float(window["end"]) <= float(window["start"]):
        return f"empty window [{window['start']}, {window['end']}]"
    return ""


def manifest_files(path: Path) -> list[Path]:
    """The files holding records at `path`: a release folder, a manifest folder, a tar or JSON lines."""
    if path.is_dir():
        folder = path / MANIFEST_DIR if (path / MANIFEST_DIR).is_dir() else path
        files = sorted(folder.glob("*.tar")) or sorted(folder.glob("*.jsonl"))
        if not files:
            raise ManifestUnreadable(f"no manifest in {path} (looked for {MANIFEST_DIR}/*.tar and *.jsonl)")
        return files
    if path.is_file():
        return [path]
    raise ManifestUnreadable(f"{path} does not exist")


def read_records(path: Path) -> list[Record]:
    """Every record at `path`, in file order; unusable ones carry `_problem`. Duplicate clip ids: the
    later ones are marked as problems, never silently merged."""
    records: list[Record] = []
    seen: set[str] = set()
    for file in manifest_files(path):
        reader = _from_tar if file.suffix == ".tar" else _from_lines
        for record in reader(file):
            clip_id = str(record.get("clip_id"))
            if clip_id in seen:
                record = {"clip_id": f"{clip_id}-duplicate-{len(records)}",
                          PROBLEM: f"{file.name}: clip id {clip_id} appears twice"}
            seen.add(str(record.get("clip_id")))
            records.append(record)
    if not records:
        raise ManifestUnreadable(f"no manifest records in {path}")
    return records
