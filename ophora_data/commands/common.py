"""What every command shares: options, config resolution, exit codes, result printing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from ophora_data.config import Config, ConfigError
from ophora_data.executors.local import RunOptions
from ophora_data.executors.result import StageResult
from ophora_data.run.secrets import redact
from ophora_data.run.workdir import RunDir

console = Console(stderr=True)
out = Console()

EXIT_OK, EXIT_STAGE_FAILED, EXIT_USAGE = 0, 1, 2

Workdir = Annotated[Path, typer.Option("--workdir", "-w", help="run directory (created if missing)")]
ExistingWorkdir = Annotated[Path, typer.Option("--workdir", "-w", help="an existing run directory (one with tables/)")]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config; defaults to the run's saved config")
]
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", help="override one value: section.key=value (repeatable)", show_default=False),
]
Workers = Annotated[int | None, typer.Option("--workers", help="parallel workers (default: run.workers)")]
Limit = Annotated[int | None, typer.Option("--limit", help="process at most N pending items")]
RetryFailed = Annotated[
    bool, typer.Option("--retry-failed", help="also retry permanent failures (transient ones always are)")
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="reprocess every item, superseding old rows")]
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def fail(message: str, code: int = EXIT_STAGE_FAILED) -> NoReturn:
    """Print `error: <message>` to stderr on one line (no wrapping at the terminal's width, so a
    long path never splits a message that scripts grep; no markup, so `[Music]` stays text) and exit."""
    console.print(Text.assemble(("error:", "red"), " ", redact(message)), soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def open_run(
    workdir: Path, config_file: Path | None, sets: list[str] | None, save: bool = True
) -> tuple[RunDir, Config]:
    """Resolve the config once (saved run config < file < --set) and write it into the run."""
    run = RunDir(workdir)
    try:
        config = run.resolve_config(config_file, sets)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    if save:
        run.create()
        run.save_config(config)
    return run, config


def existing_run(workdir: Path, config_file: Path | None = None, sets: list[str] | None = None,
                 save: bool = False) -> tuple[RunDir, Config]:
    """`open_run` for commands that read a run: a folder without tables/ (a mistyped path, the
    project folder) is refused rather than reported as an empty run."""
    run = RunDir(workdir)
    if not run.tables_dir.is_dir():
        fail(f"no run directory with tables at {run.root}", EXIT_USAGE)
    return open_run(workdir, config_file, sets, save=save)


def run_options(
    config: Config, workers: int | None, limit: int | None, retry_failed: bool, overwrite: bool
) -> RunOptions:
    if workers is not None and workers < 1:
        fail("--workers must be at least 1", EXIT_USAGE)
    if limit is not None and limit < 0:
        fail("--limit must be >= 0", EXIT_USAGE)
    return RunOptions(
        workers=workers or config.run.workers, limit=limit, retry_failed=retry_failed, overwrite=overwrite
    )


def print_result(result: StageResult, as_json: bool = False) -> None:
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    data = result.as_dict()
    line = (
        f"[bold]{data['stage']}[/bold]: processed {data['processed']} "
        f"(ok {data['ok']}, rejected {data['rejected']}, failed {data['failed']}); "
        f"{data['skipped_done']} already done"
    )
    console.print(line, highlight=False)
    for reason, count in list(data["reasons"].items())[:8]:
        console.print(f"    {count:>6}  {reason}", highlight=False, markup=False)


def print_status(status: dict[str, dict]) -> None:
    table = RichTable(title="ophora-data status")
    for column in ("stage", "ok", "rejected", "failed", "pending", "done", "top reason"):
        table.add_column(column, justify="left" if column in ("stage", "top reason") else "right")
    for stage, info in status.items():
        top = next(iter(info["reasons"].items()), None)
        table.add_row(
            stage,
            str(info["ok"]),
            str(info["rejected"]),
            str(info["failed"]),
            "-" if info["pending"] is None else str(info["pending"]),
            "yes" if info["done"] else "no",
            f"{top[1]}x {top[0]}" if top else "",
        )
    out.print(table)
    for stage, info in status.items():
        if info.get("extras") and info["ok"] + info["rejected"] + info["failed"]:
            out.print(f"{stage}: " + ", ".join(f"{k}={v}" for k, v in info["extras"].items()), highlight=False)
