"""Where a release comes from: a local release folder, a Hub dataset id, or a manifest file.

The records are copied once into the run (`reproduce/manifest.jsonl`, with `origin.json`), so a
resumed run needs neither the Hub nor the original folder again, and a run directory can only
ever reproduce one manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ophora_data.reproduce.manifest import MANIFEST_DIR, ManifestUnreadable, Record, read_records
from ophora_data.run.atomic import atomic_write_json, atomic_write_text
from ophora_data.run.workdir import RunDir

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
REPRODUCE_DIR = "reproduce"
RECORDS_FILE = "manifest.jsonl"
ORIGIN_FILE = "origin.json"
RELEASE_JSON = "release.json"
CARD = "README.md"


class OtherManifest(ValueError):
    """The run directory already reproduces a different manifest."""


@dataclass(frozen=True)
class Located:
    path: Path  # a folder or file that `read_records` understands
    kind: str  # "folder", "file" or "hub"
    release: str  # what the user gave


def locate(release: str, run: RunDir) -> Located:
    """Resolve RELEASE; a Hub id is fetched (manifest, release.json and card only) with huggingface_hub,
    which honours HF_TOKEN and HF_HUB_OFFLINE. Raises ManifestUnreadable."""
    path = Path(release).expanduser()
    if path.exists():
        return Located(path.resolve(), "folder" if path.is_dir() else "file", release)
    if not HUB_ID.match(release):
        raise ManifestUnreadable(f"{release!r} is neither an existing folder or file nor a Hub dataset id ORG/NAME")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError as exc:
        raise ManifestUnreadable("a Hub dataset id needs huggingface_hub: pip install 'ophora-data[release]'") from exc
    target = run.root / REPRODUCE_DIR / "hub"
    try:
        snapshot_download(release, repo_type="dataset", local_dir=str(target),
                          allow_patterns=[f"{MANIFEST_DIR}/*", RELEASE_JSON, CARD])
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        raise ManifestUnreadable(f"cannot fetch the manifest of {release} from the Hub: {type(exc).__name__}: "
                                 f"{exc}") from exc
    return Located(target, "hub", release)


def _side_file(located: Located, name: str) -> Path | None:
    folder = located.path if located.path.is_dir() else None
    candidate = folder / name if folder else None
    return candidate if candidate is not None and candidate.is_file() else None


def recipe_section(card_text: str) -> str | None:
    """The `## Exact recipe` section of a release card, to carry into the reproduced card."""
    match = re.search(r"^## Exact recipe\n(.*?)(?=^## )", card_text, re.M | re.S)
    return match.group(1).strip() if match else None


def import_manifest(located: Located, run: RunDir) -> dict[str, Any]:
    """Copy the records into the run; returns the origin. Raises OtherManifest when the run already
    holds a different manifest."""
    records = read_records(located.path)
    text = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    folder = run.root / REPRODUCE_DIR
    saved = folder / ORIGIN_FILE
    if saved.is_file():
        before = json.loads(saved.read_text(encoding="utf-8"))
        if before.get("manifest_sha256") != digest:
            raise OtherManifest(f"{run.root} already reproduces {before.get('release')} (another manifest); "
                                "use a new --workdir")
    release_json = _side_file(located, RELEASE_JSON)
    card = _side_file(located, CARD)
    origin = {
        "release": located.release, "kind": located.kind, "manifest_sha256": digest, "records": len(records),
        "release_json": json.loads(release_json.read_text(encoding="utf-8")) if release_json else None,
        "recipe": recipe_section(card.read_text(encoding="utf-8")) if card else None,
    }
    atomic_write_text(folder / RECORDS_FILE, text)
    atomic_write_json(saved, origin)
    return origin


def saved_records(run: RunDir) -> list[Record]:
    path = run.root / REPRODUCE_DIR / RECORDS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def saved_origin(run: RunDir) -> dict[str, Any] | None:
    path = run.root / REPRODUCE_DIR / ORIGIN_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
