"""`ophora-data <verb>`: thin Typer commands over the library (see README for the verbs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ophora_data.commands import audit as audit_commands
from ophora_data.commands import release as release_commands
from ophora_data.commands import reproduce as reproduce_commands
from ophora_data.commands import tuning as tuning_commands
from ophora_data.commands.common import (
    EXIT_STAGE_FAILED,
    EXIT_USAGE,
    ConfigFile,
    ExistingWorkdir,
    JsonFlag,
    Limit,
    Overwrite,
    RetryFailed,
    Sets,
    Workdir,
    Workers,
    console,
    existing_run,
    fail,
    open_run,
    out,
    print_result,
    print_status,
    run_options,
)
from ophora_data.media.runner import MediaError
from ophora_data.stages.base import StageError
from ophora_data.stages.registry import stage_names

app = typer.Typer(
    name="ophora-data",
    help="Turn narrated ophthalmic-surgery videos into an audited video-instruction dataset.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold tokens
    add_completion=False,
)

STAGE_HELP = {
    "probe": "ffprobe every local or downloaded video: fps, size, codec, audio, rotation, sha256, and where "
             "the picture ends (duration_s, from the video stream or its packets; duration_source says which).",
    "segment": "Split word-timed narration into clip windows (spaCy sentences, pauses, min/max length).",
    "caption": "Rewrite each window's narration into one imperative instruction (LLM or rules). The first run "
               "records the captioner and endpoint in the run's config; another captioner takes a config change.",
    "cut": "Cut every window into media/clips/<clip_id>.mp4 (frame-accurate re-encode).",
    "quality": "Check rows per clip: resolution, duration, scene cuts, black and frozen frames.",
    "score": "OphCLIP-style clip-text similarity, surgical-content score, near-duplicates (open_clip).",
    "privacy": "Detect faces and burned-in text, blur them, verify the redacted clip.",
    "decide": "One decision per clip from all its checks: kept or rejected with every reason.",
}


def _run_one(
    name: str,
    workdir: Path,
    config_file: Path | None,
    sets: list[str] | None,
    workers: int | None,
    limit: int | None,
    retry_failed: bool,
    overwrite: bool,
    as_json: bool = False,
    sources: list[str] | None = None,
) -> None:
    from ophora_data.executors.local import run_stage
    from ophora_data.pipeline import build_stage

    run, config = open_run(workdir, config_file, sets)
    options = run_options(config, workers, limit, retry_failed, overwrite)
    try:
        result = run_stage(build_stage(name, config, run, sources), options)
    except (StageError, MediaError) as exc:
        fail(f"{name}: {exc}", EXIT_STAGE_FAILED)
    print_result(result, as_json)


def _stage_command(name: str) -> None:
    def command(
        workdir: Workdir,
        config: ConfigFile = None,
        set_: Sets = None,
        workers: Workers = None,
        limit: Limit = None,
        retry_failed: RetryFailed = False,
        overwrite: Overwrite = False,
        json_: JsonFlag = False,
    ) -> None:
        _run_one(name, workdir, config, set_, workers, limit, retry_failed, overwrite, json_)

    command.__doc__ = STAGE_HELP.get(name, f"Run the {name} stage over the run directory.")
    app.command(name)(command)


def ingest(
    sources: Annotated[list[str], typer.Argument(
        help="URLs, URL lists (text), CSV/JSONL tables, video files (any container ffprobe reads, whatever the "
             "extension), folders (scanned recursively)")],
    workdir: Workdir,
    config: ConfigFile = None,
    set_: Sets = None,
    limit: Limit = None,
    overwrite: Overwrite = False,
    json_: JsonFlag = False,
) -> None:
    """Normalise sources to one row per unique video; unusable lines and files that are neither video nor
    text become rejected rows with the reason."""
    _run_one("ingest", workdir, config, set_, 1, limit, False, overwrite, json_, sources)


def transcribe(
    workdir: Workdir,
    config: ConfigFile = None,
    set_: Sets = None,
    workers: Workers = None,
    limit: Limit = None,
    retry_failed: RetryFailed = False,
    overwrite: Overwrite = False,
    transcripts: Annotated[Path | None, typer.Option(help="folder of <video_id>.json/.vtt/.srt to import")] = None,
    json_: JsonFlag = False,
) -> None:
    """Word-timed transcripts: import sidecars/subtitles, else WhisperX ASR + alignment."""
    extra = [f"transcribe.transcripts_dir={transcripts.resolve()}"] if transcripts else []
    _run_one("transcribe", workdir, config, (set_ or []) + extra, workers, limit, retry_failed, overwrite, json_)


def download(
    workdir: Workdir,
    config: ConfigFile = None,
    set_: Sets = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="downloads at the same time (download.concurrency)")
    ] = None,
    limit: Limit = None,
    retry_failed: RetryFailed = False,
    overwrite: Overwrite = False,
    cookies: Annotated[
        Path | None, typer.Option("--cookies", help="Netscape cookies file (download.cookies_file)")
    ] = None,
    rate_limit: Annotated[str | None, typer.Option("--rate-limit", help="bytes/s per download, e.g. 2M")] = None,
    subtitles: Annotated[
        bool | None, typer.Option("--subtitles/--no-subtitles", help="also fetch VTT subtitles")
    ] = None,
    json_: JsonFlag = False,
) -> None:
    """Fetch ingested URLs with yt-dlp into media/raw/ (link local files), resumably; see README for options."""
    extra = [f"download.concurrency={workers}"] if workers else []
    if cookies:
        extra.append(f"download.cookies_file={cookies.expanduser().resolve()}")
    if rate_limit:
        extra.append(f"download.rate_limit={rate_limit}")
    if subtitles is not None:
        extra.append(f"download.subtitles={str(subtitles).lower()}")
    _run_one("download", workdir, config, (set_ or []) + extra, None, limit, retry_failed, overwrite, json_)


# Stage verbs in pipeline order, so `--help` reads like the pipeline.
_CUSTOM_STAGE_COMMANDS = {"ingest": ingest, "download": download, "transcribe": transcribe}
for _name in stage_names():
    if _name in _CUSTOM_STAGE_COMMANDS:
        app.command(_name)(_CUSTOM_STAGE_COMMANDS[_name])
    else:
        _stage_command(_name)


@app.command("run")
def run_all(
    sources: Annotated[list[str] | None, typer.Argument(help="sources to ingest first (optional on rerun)")] = None,
    workdir: Workdir = Path("run"),
    config: ConfigFile = None,
    set_: Sets = None,
    workers: Workers = None,
    limit: Limit = None,
    retry_failed: RetryFailed = False,
    overwrite: Overwrite = False,
    until: Annotated[str | None, typer.Option(help="stop after this stage")] = None,
) -> None:
    """Run every registered stage in order; a rerun resumes where it stopped."""
    from ophora_data.pipeline import run_pipeline, stages_until

    run, cfg = open_run(workdir, config, set_)
    options = run_options(cfg, workers, limit, retry_failed, overwrite)
    try:
        stages_until(until)
        run_pipeline(run, cfg, list(sources or []), until, options, on_result=print_result)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    except (StageError, MediaError) as exc:
        fail(str(exc), EXIT_STAGE_FAILED)


@app.command()
def status(workdir: ExistingWorkdir, json_: JsonFlag = False) -> None:
    """Per stage: ok / rejected / failed / pending and the top reasons (`--json` is stable)."""
    from ophora_data.run.status import run_status

    run, config = existing_run(workdir)
    result = run_status(run, config)
    if json_:
        out.print_json(json.dumps(result))
    else:
        print_status(result)


@app.command()
def compact(
    workdir: ExistingWorkdir,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="only this table (repeatable)")] = None,
    min_parts: Annotated[int, typer.Option(help="merge a table only when it has at least this many small files",
                                           min=2)] = 2,
    json_: JsonFlag = False,
) -> None:
    """Merge each table's small part files into one (rows and history kept; safe to interrupt).

    Stages compact their own table when they finish; use this on a run written by an older
    version, or after many small runs. Every row keeps its original part name, so superseded
    rows stay queryable in `<stage>_all`.
    """
    from ophora_data.run.compact import compact_run

    run, config = existing_run(workdir)
    try:
        results = compact_run(run, stage, min_files=min_parts, memory_limit=config.run.duckdb_memory_limit)
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_USAGE)
    if json_:
        out.print_json(json.dumps([r.as_dict() for r in results]))
        return
    for result in results:
        what = (f"merged {result.merged_files} files ({result.rows} rows)" if result.merged_files
                else "nothing to merge")
        removed = f", removed {result.removed_files} replaced files" if result.removed_files else ""
        console.print(f"{result.stage}: {what}{removed}", highlight=False)


@app.command()
def demo(
    workdir: Workdir = Path("demo-run"),
    set_: Sets = None,
    workers: Workers = None,
    fresh: Annotated[bool, typer.Option(help="delete the run directory first")] = False,
) -> None:
    """Offline demo: generate a narrated synthetic surgery video and run the whole pipeline on it."""
    from ophora_data.config import ConfigError
    from ophora_data.demo.run import run_demo

    try:
        run_demo(workdir, set_ or [], workers, fresh, echo=console.print)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except (StageError, MediaError) as exc:
        fail(str(exc), EXIT_STAGE_FAILED)


audit_commands.register(app)
release_commands.register(app)
reproduce_commands.register(app)
tuning_commands.register(app)


def main() -> None:
    """Entry point: an unexpected error prints one redacted line (set OPHORA_DEBUG=1 for the traceback)."""
    import os
    import sys

    from ophora_data.run.secrets import redact

    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the last line of defence for secrets in tracebacks
        if os.environ.get("OPHORA_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {redact(str(exc))} (OPHORA_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        sys.exit(EXIT_STAGE_FAILED)


if __name__ == "__main__":
    main()
