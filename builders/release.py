"""`build`: turn a run's decisions into a verified Hub release directory.

The release is assembled in a staging folder next to the target, verified there with
`datasets.load_dataset`, and only then swapped into place: a failed or interrupted build
never leaves a half release where a good one was.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from builders import guards
from builders.card import render_card
from builders.checksums import write_checksums
from builders.collect import Candidate, ReleaseInputs, collect
from builders.layout import (
    AUDIT_PARQUET,
    CARD_FILE,
    DATA_DIRS,
    MANIFEST_FILE,
    ConfigLayout,
    record_features,
    webdataset_features,
)
from builders.manifest import manifest_records, schema_for
from builders.provenance import code_version
from builders.records import AUDIT_SCHEMA, audit_rows, audit_table, clip_metadata
from builders.shards import FILE_MODE, Sample, json_bytes, write_shards
from builders.verify import Expected, verify_release
from ophora_data.config import Config, stable_hash
from ophora_data.media.fingerprint import METHOD as FINGERPRINT_METHOD
from ophora_data.run.atomic import atomic_write, atomic_write_json, atomic_write_text
from ophora_data.run.workdir import RunDir

Echo = Callable[[str], None]
REPO_PLACEHOLDER = "ORG/NAME"


@dataclass
class ReleaseResult:
    out_dir: Path
    load_snippet: str
    decision_set_id: str
    counts: dict[str, int]
    checksums: dict[str, str]
    verified: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum((self.out_dir / name).stat().st_size for name in self.checksums)


def _check_target(out_dir: Path) -> None:
    """Only an earlier release (it has a manifest) may be replaced: never wipe an unrelated folder."""
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MANIFEST_FILE).is_file():
        raise guards.ReleaseRefused(f"{out_dir} exists and is not a release directory; refusing to replace it")


def _write_config(staging: Path, name: str, samples: list[Sample], features: dict, multiple: int,
                  config: Config, media: bool = True) -> ConfigLayout:
    target = int(config.build.shard_size_mb * 1024 * 1024)
    paths = write_shards(staging / DATA_DIRS[name], samples, target, multiple, label=name)
    files = [p.relative_to(staging).as_posix() for p in paths]
    return ConfigLayout(name, files, len(samples), sum(p.stat().st_size for p in paths), features, media)


def _media_samples(clips: list[Candidate], metas: dict[str, dict], media: bool = True) -> list[Sample]:
    # Guards made sure every kept clip has a redacted file and an instruction.
    if not media:  # `build --no-media`: instruction and metadata only; `reproduce` re-makes the video
        return [Sample(c.clip_id, {"json": json_bytes(metas[c.clip_id]),
                                   "txt": (c.instruction or "").strip().encode("utf-8")}) for c in clips]
    return [Sample.clip(c.clip_id, Path(str(c.media_path)), (c.instruction or "").strip(), metas[c.clip_id])
            for c in clips]


def _write_manifest(staging: Path, records: list[dict], config: Config) -> ConfigLayout:
    samples = [Sample.record(r["clip_id"], r) for r in records]
    return _write_config(staging, "manifest", samples, record_features(schema_for(records)), 1, config)


def _write_audit(staging: Path, inputs: ReleaseInputs, withheld: dict[str, str], config: Config) -> ConfigLayout:
    rows = audit_rows(inputs.candidates, withheld)
    table = audit_table(rows)
    atomic_write(staging / AUDIT_PARQUET, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    samples = [Sample.record(row["clip_id"], row) for row in rows]
    return _write_config(staging, "audit", samples, record_features(AUDIT_SCHEMA), 1, config)


def _manifest(inputs: ReleaseInputs, layouts: list[ConfigLayout], config: Config, repo: str,
              media: bool = True) -> dict:
    return {
        "media": media,
        "fingerprint_method": FINGERPRINT_METHOD,
        "decision_set_id": inputs.decision_set_id,
        "recipe": config.recipe,
        "config_hash": stable_hash(config.model_dump(mode="json")),
        "code_version": code_version(),
        "repo_id": repo,
        "scores": inputs.score_status.note,
        "configs": {lay.name: {"records": lay.records, "files": lay.files} for lay in layouts},
    }


def _make_readable(folder: Path) -> None:
    """Temp-file writes are private (0600); a release is meant to be read by others."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(FILE_MODE)


def _swap(staging: Path, out_dir: Path) -> None:
    old = out_dir.parent / f".{out_dir.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def load_snippet(where: str) -> str:
    return f'load_dataset({json.dumps(where)}, "default", split="train")'


def build_release(run: RunDir, config: Config, out: Path | None = None, *, echo: Echo | None = None,
                  media: bool = True, workers: int | None = None) -> ReleaseResult:
    """Build, verify and install the release of `run`.

    `media=False` (`build --no-media`) writes the same configs without video bytes; the `manifest`
    config lets `ophora-data reproduce` re-make and verify every clip. Raises ReleaseRefused,
    ManifestError or VerificationFailed.
    """
    say = echo or (lambda _message: None)
    out_dir = Path(out).expanduser().resolve() if out else run.release_dir
    _check_target(out_dir)
    inputs = collect(run, config)
    kept = inputs.kept
    if not kept:
        raise guards.ReleaseRefused(f"no kept clips among {len(inputs.candidates)} candidates: nothing to release")
    find = guards.load_identifier_finder()
    guards.check_kept_clips(kept, find)
    withheld = guards.withheld_instructions(inputs.candidates, find)
    say(f"build: {len(kept)} kept of {len(inputs.candidates)} candidate clips, decision set "
        f"{inputs.decision_set_id}" + ("" if media else " (no media)"))
    records = manifest_records(run, config, kept, workers or config.run.workers, say)
    return write_release(inputs, config, out_dir, records, withheld=withheld, media=media, echo=say)


def write_release(inputs: ReleaseInputs, config: Config, out_dir: Path, manifest: list[dict], *,
                  withheld: dict[str, str], media: bool = True, echo: Echo | None = None,
                  card_values: dict[str, str] | None = None, release_extra: dict | None = None) -> ReleaseResult:
    """Assemble `inputs` into `out_dir` (staged, verified, swapped in); `manifest` holds one record per
    kept clip. `card_values` override rendered card sections; `release_extra` adds keys to release.json."""
    say = echo or (lambda _message: None)
    kept = inputs.kept
    staging = out_dir.parent / f".{out_dir.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    metas = dict(zip([c.clip_id for c in kept], clip_metadata(kept, config), strict=True))
    features = webdataset_features(list(metas.values()), media)
    subsets = {"default": kept}
    strict = inputs.subset("strict")
    if config.build.strict_config and strict:
        subsets["strict"] = strict
    layouts = [_write_config(staging, name, _media_samples(clips, metas, media), features,
                             config.build.shard_multiple, config, media) for name, clips in subsets.items()]
    layouts.append(_write_audit(staging, inputs, withheld, config))
    layouts.append(_write_manifest(staging, manifest, config))

    repo = config.publish.repo_id or REPO_PLACEHOLDER
    atomic_write_text(staging / CARD_FILE, render_card(inputs, layouts, config, repo, overrides=card_values))
    atomic_write_json(staging / MANIFEST_FILE, {**_manifest(inputs, layouts, config, repo, media),
                                                **(release_extra or {})})
    checksums = write_checksums(staging)
    _make_readable(staging)

    verified: list[str] = []
    if config.build.verify:
        media_bytes = sum(lay.num_bytes for lay in layouts if lay.name in subsets)
        full = media_bytes <= config.build.verify_full_load_max_mb * 1024 * 1024
        expected = [Expected(name, {c.clip_id: (c.instruction or "").strip() for c in clips}, media)
                    for name, clips in subsets.items()]
        verified = verify_release(staging, expected, len(inputs.candidates), full,
                                  manifest_keys=[r["clip_id"] for r in manifest])
        say("verified: " + "; ".join(verified))
    _swap(staging, out_dir)
    counts = {"candidates": len(inputs.candidates), **{lay.name: lay.records for lay in layouts
                                                       if lay.name in subsets}}
    return ReleaseResult(out_dir, load_snippet(str(out_dir)), inputs.decision_set_id, counts, checksums, verified)
