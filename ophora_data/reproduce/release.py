"""Build the reproduced release: the original's structure, with only verified clips kept.

Every manifest record is a candidate; its `reproduce` rows (re-judged under today's bounds)
decide it: verified clips are `kept` with the re-made redacted video, every other clip is
`rejected` with its reasons, so the release's `audit` config lists what could not be reproduced
and why. The manifest of the new release holds the original records of the kept clips, so it can
itself be reproduced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from builders import guards
from builders.collect import Candidate, ReleaseInputs, ScoreStatus, clip_sort_key
from builders.release import ReleaseResult, write_release
from ophora_data.config import Config
from ophora_data.reproduce.locate import saved_origin, saved_records
from ophora_data.reproduce.manifest import PROBLEM, Record
from ophora_data.run.tables import group_by, key_status
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import current_status
from ophora_data.stages.registry import stage_config_hash
from ophora_data.stages.reproduce import ReproduceStage

STAGE = ReproduceStage.name


class NothingReproduced(RuntimeError):
    """No clip was verified: there is nothing to put into a release."""


def current_reproduce_rows(run: RunDir, config: Config) -> list[dict[str, Any]]:
    return run.table(STAGE).current(ReproduceStage.work_key(), stage_config_hash(ReproduceStage, config))


def _check_entry(row: dict[str, Any], status: str) -> dict[str, Any]:
    return {"stage": STAGE, "check": str(row["check"]), "value": row.get("value"), "threshold": row.get("threshold"),
            "threshold_max": row.get("threshold_max"), "op": row.get("op"), "passed": status == "ok",
            "model": None, "model_revision": None, "reason": row.get("reason") or ""}


def candidate(record: Record, rows: list[dict[str, Any]], run: RunDir, config: Config) -> Candidate:
    """One manifest record as a release candidate, decided by its reproduce rows."""
    statuses = [current_status(STAGE, row, config) for row in rows]
    status = key_status([{"status": s} for s in statuses]) if rows else "failed"
    reasons = sorted({f"reproduce: {row.get('reason') or s}" for row, s in zip(rows, statuses, strict=True)
                      if s != "ok"}) or ([] if rows else ["reproduce: not run yet"])
    window, clip = record.get("window") or {}, record.get("clip") or {}
    kept = status == "ok"
    return Candidate(
        clip_id=str(record["clip_id"]), video_id=str(record.get("video_id") or ""),
        decision="kept" if kept else "rejected", reasons=[] if kept else reasons,
        subsets=list(record.get("subsets") or ["default"]) if kept else [],
        decision_set_id=record.get("decision_set_id"), instruction=record.get("instruction"),
        attributes=dict(record.get("attributes") or {}), captioner=record.get("captioner"),
        caption_model=record.get("caption_model"), prompt_version=record.get("prompt_version"),
        start=window.get("start"), end=window.get("end"), duration_s=clip.get("duration_s"), fps=clip.get("fps"),
        width=clip.get("width"), height=clip.get("height"), source_url=(record.get("source") or {}).get("url"),
        media_path=run.redacted_clip(str(record["clip_id"])) if kept else None, privacy_verified=kept,
        privacy_strict="strict" in (record.get("subsets") or []),
        checks=[_check_entry(row, s) for row, s in zip(rows, statuses, strict=True) if row.get("check")],
    )


def reproduced_inputs(run: RunDir, config: Config) -> tuple[ReleaseInputs, list[Record]]:
    records = [r for r in saved_records(run) if not r.get(PROBLEM)]
    rows = group_by(current_reproduce_rows(run, config), "clip_id")
    candidates = sorted((candidate(r, rows.get(r["clip_id"], []), run, config) for r in records),
                        key=lambda c: clip_sort_key(c.clip_id))
    decision_sets = sorted({str(r.get("decision_set_id")) for r in records if r.get("decision_set_id")})
    inputs = ReleaseInputs(candidates, ", ".join(decision_sets) or "unknown",
                           ScoreStatus(False, "scores are not re-computed by reproduce; see the source release"))
    kept = {c.clip_id for c in inputs.kept}
    return inputs, [r for r in records if r["clip_id"] in kept]


def _recipe(origin: dict[str, Any], inputs: ReleaseInputs) -> str:
    kept, total = len(inputs.kept), len(inputs.candidates)
    lines = [f"Reproduced with `ophora-data reproduce` from `{origin.get('release')}` on "
             f"{datetime.now(UTC).date().isoformat()}: **{kept} of {total} clips verified** against their "
             "recorded fingerprints; the others are listed with their reasons in the `audit` config.", ""]
    recipe = origin.get("recipe")
    lines.append("The recipe of the source release:\n\n" + recipe if recipe
                 else "The source release's card (its exact recipe) was not available to this reproduction.")
    return "\n".join(lines)


def build_reproduced_release(run: RunDir, config: Config, out: Path | None = None,
                             echo: Callable[[str], None] | None = None) -> ReleaseResult:
    """Write and verify the reproduced release (default `W/release`); raises NothingReproduced,
    ReleaseRefused or VerificationFailed."""
    inputs, manifest = reproduced_inputs(run, config)
    if not inputs.kept:
        raise NothingReproduced(f"none of {len(inputs.candidates)} clips was verified: no release built "
                                "(`ophora-data status` lists the reasons)")
    find = guards.load_identifier_finder()
    guards.check_kept_clips(inputs.kept, find)
    origin = saved_origin(run) or {}
    out_dir = Path(out).expanduser().resolve() if out else run.release_dir
    extra = {"reproduced_from": {"release": origin.get("release"), "manifest_sha256": origin.get("manifest_sha256"),
                                 "verified": len(inputs.kept), "records": len(inputs.candidates)}}
    withheld = guards.withheld_instructions(inputs.candidates, find)
    return write_release(inputs, config, out_dir, manifest, withheld=withheld, echo=echo,
                         card_values={"recipe": _recipe(origin, inputs)}, release_extra=extra)


def summary(run: RunDir, config: Config) -> dict[str, Any]:
    """Clips per verdict and the reasons of the others (for the command's output)."""
    inputs, _ = reproduced_inputs(run, config)
    reasons: dict[str, int] = {}
    for cand in inputs.candidates:
        for reason in cand.reasons:
            reasons[reason] = reasons.get(reason, 0) + 1
    return {"clips": len(inputs.candidates), "verified": len(inputs.kept),
            "flagged": len(inputs.candidates) - len(inputs.kept),
            "reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1]))}
