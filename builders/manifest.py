"""The `manifest` config: everything needed to re-make and verify each kept clip without its video.

One record per kept clip: the source (video id, URL, probe facts), the exact window the cut
used (seconds and source frame indices), the clip's encoding, instruction and attributes, the
redaction boxes per frame run (so `reproduce` blurs exactly what was blurred) and the clip's
fingerprint (`ophora_data/media/fingerprint.py`, method `ophora-fp1`). Like `audit`, the config
is a WebDataset tar of `<clip_id>.json` records: `datasets` picks one builder for all configs
of a repo from the first config's files (huggingface/datasets#6447, #7101).

Fingerprints are computed from the published (redacted) clips, in `workers` threads (ffmpeg
decodes outside the GIL), and cached under `cache/fingerprints/` keyed by the clip file's size
and modification time, so a rebuild does not decode again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
from tqdm import tqdm

from builders.collect import Candidate
from builders.records import normalize_attributes
from builders.tables import Row, current_rows, first_value, rows_by
from ophora_data.config import Config
from ophora_data.media.fingerprint import METHOD, Fingerprint, fingerprint_clip
from ophora_data.run.atomic import atomic_write_json
from ophora_data.run.workdir import RunDir

FINGERPRINT_CACHE = "fingerprints"

BOX_TYPE = pa.struct([("x", pa.int64()), ("y", pa.int64()), ("w", pa.int64()), ("h", pa.int64()),
                      ("kind", pa.string())])
RUN_TYPE = pa.struct([("first", pa.int64()), ("stop", pa.int64()), ("boxes", pa.list_(BOX_TYPE))])
SOURCE_TYPE = pa.struct([
    ("url", pa.string()), ("duration_s", pa.float64()), ("fps", pa.float64()), ("width", pa.int64()),
    ("height", pa.int64()), ("codec", pa.string()), ("sha256", pa.string()), ("size_bytes", pa.int64()),
    ("nb_frames", pa.int64()), ("rotation", pa.int64()),
])
WINDOW_TYPE = pa.struct([
    ("start", pa.float64()), ("end", pa.float64()), ("first_frame", pa.int64()), ("last_frame", pa.int64()),
    ("clip_start_s", pa.float64()), ("clip_end_s", pa.float64()),
])
CLIP_TYPE = pa.struct([
    ("frames", pa.int64()), ("fps", pa.float64()), ("width", pa.int64()), ("height", pa.int64()),
    ("duration_s", pa.float64()), ("codec", pa.string()), ("crf", pa.int64()), ("preset", pa.string()),
    ("pix_fmt", pa.string()), ("audio", pa.bool_()), ("audio_bitrate", pa.string()),
])
REDACTION_TYPE = pa.struct([
    ("method", pa.string()), ("strength", pa.float64()), ("pixelate_blocks", pa.int64()), ("crf", pa.int64()),
    ("preset", pa.string()), ("frames_blurred", pa.int64()), ("boxes", pa.list_(RUN_TYPE)),
])
FINGERPRINT_TYPE = pa.struct([
    ("method", pa.string()), ("frames", pa.int64()), ("hash_frames", pa.list_(pa.int64())),
    ("phash", pa.list_(pa.string())), ("cells", pa.string()),
])


def manifest_schema(attributes_type: pa.DataType) -> pa.Schema:
    """The record schema; `attributes` depends on the captioner's keys (same for every record)."""
    return pa.schema([
        ("clip_id", pa.string()), ("video_id", pa.string()), ("source", SOURCE_TYPE), ("window", WINDOW_TYPE),
        ("clip", CLIP_TYPE), ("instruction", pa.string()), ("attributes", attributes_type),
        ("subsets", pa.list_(pa.string())), ("decision_set_id", pa.string()), ("captioner", pa.string()),
        ("caption_model", pa.string()), ("prompt_version", pa.string()), ("redaction", REDACTION_TYPE),
        ("fingerprint", FINGERPRINT_TYPE),
    ])


def schema_for(records: list[dict[str, Any]]) -> pa.Schema:
    attributes = [r.get("attributes") for r in records]
    kind = pa.array(attributes).type if any(a is not None for a in attributes) else pa.null()
    return manifest_schema(kind)


# Redaction boxes ------------------------------------------------------------------------------
def redaction_boxes(boxes_file: Path | None) -> list[list[Any]]:
    """The boxes blurred in each frame of a clip (frame 0..n-1), read from the privacy stage's file.

    Uses the privacy package's own reader and smoothing, so the boxes are the ones the redaction
    encoded. A clip published unchanged (no pass) has no boxes. Raises ValueError when unreadable.
    """
    from ophora_data.privacy.boxes import ClipDetections
    from ophora_data.privacy.smoothing import boxes_per_frame

    if boxes_file is None or not boxes_file.is_file():
        raise ValueError("the privacy stage's boxes file is missing")
    record = json.loads(boxes_file.read_text(encoding="utf-8"))
    if not record.get("passes"):
        return []
    detections = ClipDetections.from_json(record["redacted"])
    return boxes_per_frame(detections, int(record["hold_frames"]), float(record["box_dilation"]))


def box_runs(per_frame: list[list[Any]]) -> list[dict[str, Any]]:
    """Consecutive frames with the same boxes as one run [first, stop); frames without boxes omitted."""
    runs: list[dict[str, Any]] = []
    for index, boxes in enumerate(per_frame):
        listed = [{"x": b.x, "y": b.y, "w": b.w, "h": b.h, "kind": b.kind} for b in boxes]
        if runs and runs[-1]["stop"] == index and runs[-1]["boxes"] == listed:
            runs[-1]["stop"] = index + 1
        elif listed:
            runs.append({"first": index, "stop": index + 1, "boxes": listed})
    return runs


# Fingerprints ---------------------------------------------------------------------------------
def cached_fingerprint(run: RunDir, clip_id: str, path: Path) -> dict[str, Any]:
    """The clip's fingerprint JSON, from the cache when the file's size and mtime are unchanged."""
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "method": METHOD}
    cache = run.cache_dir / FINGERPRINT_CACHE / f"{clip_id}.json"
    if cache.is_file():
        try:
            saved = json.loads(cache.read_text(encoding="utf-8"))
            if saved.get("stamp") == stamp:
                return saved["fingerprint"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    value = fingerprint_clip(path).to_json()
    atomic_write_json(cache, {"stamp": stamp, "fingerprint": value})
    return value


def fingerprints(run: RunDir, clips: list[Candidate], workers: int) -> dict[str, dict[str, Any]]:
    def one(clip: Candidate) -> tuple[str, dict[str, Any]]:
        return clip.clip_id, cached_fingerprint(run, clip.clip_id, Path(str(clip.media_path)))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
            tqdm(total=len(clips), desc="fingerprints", unit="clip", leave=False) as bar:
        out = {}
        for clip_id, value in pool.map(one, clips):
            out[clip_id] = value
            bar.update(1)
    return out


# Records --------------------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def source_facts(probe: list[Row], url: str | None) -> dict[str, Any]:
    def get(name: str) -> Any:
        return first_value(probe, name)

    return {"url": url, "duration_s": _float(get("duration_s")), "fps": _float(get("fps")),
            "width": _int(get("width")), "height": _int(get("height")), "codec": get("codec"),
            "sha256": get("sha256"), "size_bytes": _int(get("size_bytes")), "nb_frames": _int(get("nb_frames")),
            "rotation": _int(get("rotation"))}


def window_facts(clip: Candidate, cut: list[Row]) -> dict[str, Any]:
    return {"start": _float(clip.start), "end": _float(clip.end),
            "first_frame": _int(first_value(cut, "source_first_frame")),
            "last_frame": _int(first_value(cut, "source_last_frame")),
            "clip_start_s": _float(first_value(cut, "clip_start_s")),
            "clip_end_s": _float(first_value(cut, "clip_end_s"))}


def clip_facts(cut: list[Row], fingerprint: dict[str, Any]) -> dict[str, Any]:
    def get(name: str) -> Any:
        return first_value(cut, name)

    return {"frames": int(fingerprint["frames"]), "fps": _float(get("fps")), "width": _int(get("width")),
            "height": _int(get("height")), "duration_s": _float(get("duration_s")),
            "codec": get("encoder_codec"), "crf": _int(get("encoder_crf")), "preset": get("encoder_preset"),
            "pix_fmt": get("pix_fmt"), "audio": None if get("audio") is None else bool(get("audio")),
            "audio_bitrate": get("audio_bitrate")}


def redaction_facts(per_frame: list[list[Any]], config: Config) -> dict[str, Any]:
    cfg = config.privacy
    return {"method": cfg.blur, "strength": float(cfg.blur_strength), "pixelate_blocks": int(cfg.pixelate_blocks),
            "crf": int(cfg.crf), "preset": cfg.preset, "frames_blurred": sum(1 for boxes in per_frame if boxes),
            "boxes": box_runs(per_frame)}


class ManifestError(ValueError):
    """A kept clip lacks what its manifest record needs (the message names the clips)."""


def manifest_records(run: RunDir, config: Config, kept: list[Candidate], workers: int = 1,
                     echo: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One record per kept clip, in the order of `kept`; raises ManifestError naming incomplete clips."""
    tables = {name: rows_by(current_rows(run, config, name), key)
              for name, key in (("cut", "clip_id"), ("privacy", "clip_id"), ("probe", "video_id"))}
    if echo:
        echo(f"manifest: fingerprinting {len(kept)} clips ({METHOD})")
    prints = fingerprints(run, kept, workers)
    attributes = normalize_attributes([c.attributes for c in kept])
    records, problems = [], []
    for index, clip in enumerate(kept):
        cut = tables["cut"].get(clip.clip_id, [])
        privacy = tables["privacy"].get(clip.clip_id, [])
        try:
            per_frame = redaction_boxes(run.resolve(first_value(privacy, "boxes_path")))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{clip.clip_id}: redaction boxes unreadable ({exc})")
            continue
        if not cut:
            problems.append(f"{clip.clip_id}: no current cut row")
            continue
        records.append({
            "clip_id": clip.clip_id, "video_id": clip.video_id,
            "source": source_facts(tables["probe"].get(clip.video_id, []), clip.source_url),
            "window": window_facts(clip, cut), "clip": clip_facts(cut, prints[clip.clip_id]),
            "instruction": (clip.instruction or "").strip(), "attributes": attributes[index],
            "subsets": sorted(clip.subsets), "decision_set_id": clip.decision_set_id,
            "captioner": clip.captioner, "caption_model": clip.caption_model, "prompt_version": clip.prompt_version,
            "redaction": redaction_facts(per_frame, config), "fingerprint": prints[clip.clip_id],
        })
    if problems:
        raise ManifestError("cannot write the manifest:\n  " + "\n  ".join(problems[:50]))
    return records


def fingerprint_of(record: dict[str, Any]) -> Fingerprint:
    return Fingerprint.from_json(record["fingerprint"])
