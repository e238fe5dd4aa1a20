"""What a release stores per clip: the `<clip_id>.json` metadata and the audit table row.

`datasets` infers one Arrow type per field, so every clip's JSON has the same keys: dict
fields are filled to the union of keys seen in the release, and an attribute whose values
have different types across clips (a list here, a string there) is stored as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from builders.collect import Candidate
from ophora_data.config import Config


def _union_keys(dicts: list[dict[str, Any]]) -> list[str]:
    return sorted({key for d in dicts for key in d})


def _uniform_attribute(values: list[Any]) -> bool:
    try:
        pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return False
    return True


def normalize_attributes(records: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Same keys for every clip; mixed-type attributes become JSON strings. None when no keys."""
    keys = _union_keys(records)
    if not keys:
        return [None for _ in records]
    as_text = {key for key in keys if not _uniform_attribute([r.get(key) for r in records])}
    out: list[dict[str, Any] | None] = []
    for record in records:
        row = {}
        for key in keys:
            value = record.get(key)
            row[key] = json.dumps(value, sort_keys=True) if key in as_text and value is not None else value
        out.append(row)
    return out


def normalize_values(records: list[dict[str, float | None]]) -> list[dict[str, float | None] | None]:
    keys = _union_keys(records)
    if not keys:
        return [None for _ in records]
    return [{key: (None if r.get(key) is None else float(r[key])) for key in keys} for r in records]


def clip_metadata(clips: list[Candidate], config: Config) -> list[dict[str, Any]]:
    """The `<clip_id>.json` of each clip, same order as `clips`."""
    attributes = normalize_attributes([c.attributes for c in clips])
    scores = normalize_values([c.scores for c in clips])
    privacy_checks = normalize_values([c.privacy_checks for c in clips])
    return [
        {
            "clip_id": c.clip_id,
            "video_id": c.video_id,
            "source_url": c.source_url,
            "start": _float(c.start),
            "end": _float(c.end),
            "duration_s": _float(c.duration_s),
            "fps": _float(c.fps),
            "width": None if c.width is None else int(c.width),
            "height": None if c.height is None else int(c.height),
            "attributes": attributes[i],
            "scores": scores[i],
            "privacy": {
                "mode": config.privacy.mode,
                "verified": c.privacy_verified,
                "strict": None if c.privacy_strict is None else bool(c.privacy_strict),
                "checks": privacy_checks[i],
            },
            "captioner": c.captioner,
            "caption_model": c.caption_model,
            "prompt_version": c.prompt_version,
            "subsets": sorted(c.subsets),
            "decision_set_id": c.decision_set_id,
        }
        for i, c in enumerate(clips)
    ]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


CHECK_TYPE = pa.struct([
    ("stage", pa.string()), ("check", pa.string()), ("value", pa.float64()), ("threshold", pa.float64()),
    ("threshold_max", pa.float64()), ("op", pa.string()), ("passed", pa.bool_()), ("model", pa.string()),
    ("model_revision", pa.string()), ("reason", pa.string()),
])

AUDIT_SCHEMA = pa.schema([
    ("clip_id", pa.string()), ("video_id", pa.string()), ("decision", pa.string()),
    ("reasons", pa.list_(pa.string())), ("subsets", pa.list_(pa.string())), ("decision_set_id", pa.string()),
    ("instruction", pa.string()), ("instruction_withheld", pa.string()), ("source_url", pa.string()),
    ("start", pa.float64()), ("end", pa.float64()), ("duration_s", pa.float64()),
    ("width", pa.int64()), ("height", pa.int64()), ("fps", pa.float64()),
    ("privacy_verified", pa.bool_()), ("checks", pa.list_(CHECK_TYPE)),
])


def audit_rows(candidates: list[Candidate], withheld: dict[str, str]) -> list[dict[str, Any]]:
    """Every candidate clip with all its checks, decision and reasons (no media).

    `withheld` maps clip ids to why their instruction is not published (it still matched
    de-identification patterns); such clips were not kept, so the audit only loses the text.
    """
    return [
        {
            "clip_id": c.clip_id, "video_id": c.video_id, "decision": c.decision, "reasons": c.reasons,
            "subsets": sorted(c.subsets), "decision_set_id": c.decision_set_id,
            "instruction": None if c.clip_id in withheld else c.instruction,
            "instruction_withheld": withheld.get(c.clip_id), "source_url": c.source_url,
            "start": _float(c.start), "end": _float(c.end), "duration_s": _float(c.duration_s),
            "width": c.width, "height": c.height, "fps": _float(c.fps),
            "privacy_verified": c.privacy_verified, "checks": c.checks,
        }
        for c in candidates
    ]


def audit_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=AUDIT_SCHEMA)
