"""`ophora-data build`, `publish` and `export-trainer`: thin commands over `builders/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ophora_data.commands.common import (
    EXIT_STAGE_FAILED,
    EXIT_USAGE,
    ConfigFile,
    ExistingWorkdir,
    JsonFlag,
    Sets,
    Workers,
    console,
    existing_run,
    fail,
    out,
)

ReleaseDir = Annotated[Path | None, typer.Option("--release", help="release folder (default: WORKDIR/release)")]


def _say(message: str) -> None:
    """Progress and notes on stderr, never wrapped (paths and snippets stay copyable)."""
    console.print(message, highlight=False, markup=False, soft_wrap=True)


def _print(message: str) -> None:
    """The result on stdout (the load_dataset line, a folder): scripts can capture it."""
    out.print(message, highlight=False, markup=False, soft_wrap=True)


def build(
    workdir: ExistingWorkdir, config: ConfigFile = None, set_: Sets = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="release folder (default: WORKDIR/release)")] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="ORG/NAME named in the card's examples")] = None,
    no_media: Annotated[bool, typer.Option(
        "--no-media", help="no video bytes: default/strict hold instruction + metadata; users re-make the "
                           "clips with `ophora-data reproduce` from the manifest config")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="clips fingerprinted at once (default: run.workers)")] = None,
    json_: JsonFlag = False,
) -> None:
    """Build the Hub release (WebDataset shards, audit table, manifest, card, checksums) and verify it loads."""
    from builders.guards import ReleaseRefused
    from builders.manifest import ManifestError
    from builders.release import build_release
    from builders.tables import MissingStage
    from builders.verify import VerificationFailed

    sets = [*(set_ or []), *([f"publish.repo_id={repo}"] if repo else [])]
    run, cfg = existing_run(workdir, config, sets, save=True)
    try:
        result = build_release(run, cfg, out_dir, echo=_say, media=not no_media, workers=workers)
    except (ReleaseRefused, ManifestError, VerificationFailed, MissingStage, ValueError) as exc:
        fail(str(exc), EXIT_STAGE_FAILED)
    if json_:
        out.print_json(json.dumps({"out_dir": str(result.out_dir), "decision_set_id": result.decision_set_id,
                                   "counts": result.counts, "verified": result.verified,
                                   "load_snippet": result.load_snippet}))
        return
    _say(f"release built and verified: {result.out_dir} ({result.total_bytes / 1e6:.1f} MB, "
         + ", ".join(f"{k} {v}" for k, v in result.counts.items()) + ")")
    _print(f"from datasets import load_dataset\nds = {result.load_snippet}")


def publish(
    workdir: ExistingWorkdir, config: ConfigFile = None, set_: Sets = None,
    repo: Annotated[str | None, typer.Option("--repo", help="ORG/NAME (default: publish.repo_id)")] = None,
    public: Annotated[bool | None, typer.Option(
        "--public/--private", help="visibility; a new repo is private unless --public", show_default=False)] = None,
    gated: Annotated[str | None, typer.Option(
        "--gated", help="access requests: manual, auto or off (default: publish.gated)")] = None,
    release: ReleaseDir = None,
) -> None:
    """Upload the release to a Hub dataset repo (resumable), tag it with the decision-set id, set gating."""
    from builders.publish import GATING_CHOICES, PublishError, publish_release

    run, cfg = existing_run(workdir, config, set_, save=True)
    repo_id = repo or cfg.publish.repo_id
    if not repo_id or repo_id.count("/") != 1:
        fail("--repo ORG/NAME is required (or set publish.repo_id)", EXIT_USAGE)
    if gated is not None and gated not in GATING_CHOICES:
        fail(f"--gated must be one of {', '.join(GATING_CHOICES)}", EXIT_USAGE)
    try:
        result = publish_release(release or run.release_dir, repo_id, cfg,
                                 private=None if public is None else not public, gated=gated, echo=_say)
    except PublishError as exc:
        fail(str(exc), EXIT_STAGE_FAILED)
    _say(f"published {repo_id}: {len(result.uploaded)} uploaded, {len(result.already_there)} already there, "
         f"{len(result.deleted)} deleted; revision {result.revision}, tag {result.tag}, gated {result.gated}")
    _print(f'load_dataset("{repo_id}", "default", split="train", streaming=True)')


def export_trainer(
    workdir: ExistingWorkdir,
    out_dir: Annotated[Path, typer.Option("--out", help="export folder (videos/, videos.txt, prompts.txt)")],
    config: ConfigFile = None, set_: Sets = None, release: ReleaseDir = None,
    subset: Annotated[str, typer.Option("--subset", help="release config to export: default or strict")] = "default",
    reencode: Annotated[bool, typer.Option(
        "--reencode", help="scale/crop to tune.height x tune.width, tune.frames frames at tune.fps")] = False,
    workers: Workers = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace an export made with other options")] = False,
) -> None:
    """Export the release for CogVideoX fine-tuning scripts / finetrainers (videos.txt + prompts.txt)."""
    from builders.export import ExportError, ExportOptions
    from builders.export import export_trainer as do_export

    run, cfg = existing_run(workdir, config, set_, save=True)
    tune = cfg.tune
    opts = ExportOptions(subset=subset, reencode=reencode, height=tune.height, width=tune.width,
                         frames=tune.frames, fps=tune.fps)
    try:
        result = do_export(release or run.release_dir, out_dir.resolve(), opts,
                           workers=workers or cfg.run.workers, overwrite=overwrite, echo=_say)
    except ExportError as exc:
        fail(str(exc), EXIT_STAGE_FAILED)
    _print(str(result.out_dir))


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("build")(build)
    app.command("publish")(publish)
    app.command("export-trainer")(export_trainer)
