"""`ophora-data reproduce RELEASE -w W`: re-make a release's clips from their sources, verified clip by clip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ophora_data.commands.common import (
    EXIT_STAGE_FAILED,
    EXIT_USAGE,
    ConfigFile,
    JsonFlag,
    Limit,
    Overwrite,
    RetryFailed,
    Sets,
    Workdir,
    Workers,
    console,
    fail,
    open_run,
    out,
    print_result,
    run_options,
)


def _say(message: str) -> None:
    console.print(message, highlight=False, markup=False, soft_wrap=True)


def reproduce(
    release: Annotated[str, typer.Argument(
        help="a release folder, a Hub dataset id (ORG/NAME; HF_TOKEN for gated repos) or a manifest file "
             "(a manifest/train-*.tar shard or JSON lines)", show_default=False)],
    workdir: Workdir,
    config: ConfigFile = None,
    set_: Sets = None,
    sources: Annotated[Path | None, typer.Option(
        "--sources", help="CSV/TSV/JSONL with video_id and url or path: where sources are now (needed for "
                          "videos the release has no URL for, e.g. local files)")] = None,
    workers: Workers = None,
    limit: Limit = None,
    retry_failed: RetryFailed = False,
    overwrite: Overwrite = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="release folder (default: WORKDIR/release)")] = None,
    no_build: Annotated[bool, typer.Option("--no-build", help="verify the clips, do not build a release")] = False,
    json_: JsonFlag = False,
) -> None:
    """Re-make every clip of a release from its sources and verify it against its fingerprint.

    Downloads each source (the download stage), cuts the recorded window frame-exactly, re-applies the
    recorded redaction boxes, compares fingerprints (thresholds: reproduce.luma_difference,
    reproduce.hash_distance) and builds a release of the same structure from the verified clips.
    A clip whose source vanished, shifted or changed is a row with the reason (`status`, the release's
    `audit` config), never included. Rerun to resume; --retry-failed retries permanent failures.
    """
    from builders.guards import ReleaseRefused
    from builders.verify import VerificationFailed
    from ophora_data.media.runner import MediaError
    from ophora_data.reproduce.locate import OtherManifest
    from ophora_data.reproduce.manifest import ManifestUnreadable
    from ophora_data.reproduce.release import NothingReproduced, build_reproduced_release, summary
    from ophora_data.reproduce.run import run_reproduce
    from ophora_data.reproduce.sources import SourcesUnreadable
    from ophora_data.stages.base import StageError

    if sources is not None and not sources.is_file():
        fail(f"--sources {sources}: no such file", EXIT_USAGE)
    run, cfg = open_run(workdir, config, set_)
    options = run_options(cfg, workers, limit, retry_failed, overwrite)
    on_result = None if json_ else print_result
    try:
        origin, _ = run_reproduce(run, cfg, release, sources, options, on_result=on_result, echo=_say)
    except (ManifestUnreadable, OtherManifest, SourcesUnreadable) as exc:
        fail(str(exc), EXIT_USAGE)
    except (StageError, MediaError) as exc:
        fail(f"reproduce: {exc}", EXIT_STAGE_FAILED)
    result = summary(run, cfg)
    _say(f"reproduce: {result['verified']} of {result['clips']} clips verified")
    for reason, count in list(result["reasons"].items())[:10]:
        _say(f"    {count:>6}  {reason}")
    built = None
    if not no_build:
        try:
            built = build_reproduced_release(run, cfg, out_dir, echo=_say)
        except NothingReproduced as exc:
            _say(str(exc))
        except (ReleaseRefused, VerificationFailed) as exc:
            fail(str(exc), EXIT_STAGE_FAILED)
    if json_:
        out.print_json(json.dumps({"release": origin["release"], **result,
                                   "out_dir": str(built.out_dir) if built else None}))
    elif built is not None:
        _say(f"reproduced release built and verified: {built.out_dir}")
        out.print(f"from datasets import load_dataset\nds = {built.load_snippet}", highlight=False,
                  markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `reproduce` command to the app."""
    app.command("reproduce")(reproduce)
