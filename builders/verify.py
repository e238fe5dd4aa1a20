"""Prove a release loads the way users will load it before `build` reports success.

`datasets.load_dataset(release, config)` streaming and not (the full load copies every
byte into an Arrow cache, so it is skipped above `build.verify_full_load_max_mb`), plus
the checksums file. Record counts and keys must match the decisions exactly.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.checksums import checksum_mismatches
from builders.layout import AUDIT_PARQUET


class VerificationFailed(RuntimeError):
    """The built release does not load back as expected; the message says what differs."""


@dataclass(frozen=True)
class Expected:
    """What one WebDataset config must yield: its keys and their instructions."""

    name: str
    texts: dict[str, str]
    media: bool = True  # False: a `build --no-media` config, records without mp4


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    import datasets

    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def _check_record(record: dict[str, Any], expected: Expected, how: str) -> None:
    key = record.get("__key__")
    if key not in expected.texts:
        raise VerificationFailed(f"{expected.name} ({how}): unexpected record {key!r}")
    if record.get("txt") != expected.texts[key]:
        raise VerificationFailed(f"{expected.name} ({how}): {key} has text {record.get('txt')!r}")
    if not isinstance(record.get("json"), dict):
        raise VerificationFailed(f"{expected.name} ({how}): {key} has no json metadata")
    if not expected.media:
        if record.get("mp4") is not None:
            raise VerificationFailed(f"{expected.name} ({how}): {key} carries video in a --no-media release")
        return
    _check_video(record.get("mp4"), f"{expected.name} ({how}): {key}")


def _check_video(video: Any, where: str) -> None:
    """The clip decodes: torchcodec reports frames and returns the first one."""
    if video is None:
        raise VerificationFailed(f"{where}: no video")
    try:
        frames = video.metadata.num_frames or len(video)
        first = video[0]
    except Exception as exc:  # any decoder error means the clip is unusable
        raise VerificationFailed(f"{where}: video does not decode ({type(exc).__name__}: {exc})") from exc
    if not frames or first is None:
        raise VerificationFailed(f"{where}: video has no frames")


def _compare_keys(found: list[str], expected: Expected, how: str) -> None:
    if len(found) != len(expected.texts) or set(found) != set(expected.texts):
        missing = sorted(set(expected.texts) - set(found))[:5]
        extra = sorted(set(found) - set(expected.texts))[:5]
        raise VerificationFailed(
            f"{expected.name} ({how}): {len(found)} records, expected {len(expected.texts)} "
            f"(missing {missing}, unexpected {extra})"
        )


def verify_webdataset(folder: Path, expected: Expected, full_load: bool, cache_dir: Path) -> None:
    from datasets import load_dataset

    stream = load_dataset(str(folder), expected.name, split="train", streaming=True, cache_dir=str(cache_dir))
    _check_record(next(iter(stream)), expected, "streaming")
    _compare_keys([r["__key__"] for r in stream.decode(False)], expected, "streaming")
    if full_load:
        table = load_dataset(str(folder), expected.name, split="train", cache_dir=str(cache_dir))
        _compare_keys(list(table["__key__"]), expected, "load_dataset")
        _check_record(table[0], expected, "load_dataset")


def verify_audit(folder: Path, candidates: int, kept: int, cache_dir: Path) -> None:
    """`audit` by config name (WebDataset records) and the Parquet copy: same rows, same decisions."""
    from datasets import load_dataset

    by_name = load_dataset(str(folder), "audit", split="train", cache_dir=str(cache_dir)).flatten()
    parquet = load_dataset("parquet", data_files=str(folder / AUDIT_PARQUET), split="train",
                           cache_dir=str(cache_dir))
    for how, rows, decisions in (("audit config", by_name.num_rows, by_name["json.decision"]),
                                 ("audit parquet", parquet.num_rows, parquet["decision"])):
        n_kept = sum(d == "kept" for d in decisions)
        if rows != candidates or n_kept != kept:
            raise VerificationFailed(f"{how}: {rows} rows with {n_kept} kept, expected {candidates} with {kept}")


def verify_manifest(folder: Path, keys: list[str], cache_dir: Path) -> None:
    """`manifest` by config name, in full and streaming: one record per kept clip, each with its
    fingerprint and window."""
    from datasets import load_dataset

    table = load_dataset(str(folder), "manifest", split="train", cache_dir=str(cache_dir))
    found = list(table["__key__"])
    if sorted(found) != sorted(keys):
        raise VerificationFailed(f"manifest: {len(found)} records, expected {len(keys)} "
                                 f"(missing {sorted(set(keys) - set(found))[:5]})")
    first = next(iter(load_dataset(str(folder), "manifest", split="train", streaming=True,
                                   cache_dir=str(cache_dir))))
    record = first.get("json") or {}
    if not (record.get("fingerprint") or {}).get("cells") or (record.get("window") or {}).get("start") is None:
        raise VerificationFailed(f"manifest (streaming): {first.get('__key__')} lacks its fingerprint or window")


def verify_release(folder: Path, expected: list[Expected], candidates: int, full_load: bool,
                   manifest_keys: list[str] | None = None) -> list[str]:
    """Raise VerificationFailed on any difference; returns what was checked (for the log)."""
    problems = checksum_mismatches(folder)
    if problems:
        raise VerificationFailed("checksums: " + "; ".join(problems[:10]))
    done = ["checksums"]
    kept = next((len(e.texts) for e in expected if e.name == "default"), 0)
    with tempfile.TemporaryDirectory(prefix="ophora-verify-") as tmp, _quiet_datasets():
        for item in expected:
            verify_webdataset(folder, item, full_load, Path(tmp))
            done.append(f"{item.name}: {len(item.texts)} records (streaming{', full load' if full_load else ''})")
        verify_audit(folder, candidates, kept, Path(tmp))
        done.append(f"audit: {candidates} rows")
        if manifest_keys is not None:
            verify_manifest(folder, manifest_keys, Path(tmp))
            done.append(f"manifest: {len(manifest_keys)} records")
    return done
