"""`ophora-data refilter` and `ophora-data audit {report, explain, query, diff}`: thin commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from ophora_data.commands.common import (
    EXIT_USAGE,
    ConfigFile,
    ExistingWorkdir,
    JsonFlag,
    Sets,
    console,
    existing_run,
    fail,
    out,
)
from ophora_data.run.workdir import RunDir

audit_app = typer.Typer(help="Audit decisions: HTML report, explain one clip, SQL queries, diff decision sets.",
                        no_args_is_help=True)
DecisionSet = Annotated[str | None, typer.Option("--decision-set", help="a decision-set id (default: active)")]


def refilter(workdir: ExistingWorkdir, config: ConfigFile = None, set_: Sets = None, json_: JsonFlag = False,
             dry_run: Annotated[bool, typer.Option("--dry-run", help="do not save the new config")] = False,
             ) -> None:
    """Re-decide every clip from stored check values with new thresholds (no model runs); print flips."""
    from ophora_data.audit.refilter import refilter as do_refilter

    run, cfg = existing_run(workdir, config, set_)
    result = do_refilter(run, cfg)
    if not dry_run:
        run.save_config(cfg)
    diff = result.diff
    if result.candidates == 0 and result.stage_result.skipped_done == 0:
        console.print("[yellow]warning:[/yellow] no candidate windows in this run (run `segment` first)")
    if json_:
        out.print_json(json.dumps({"before": result.before_id, "after": result.after_id,
                                   "seconds": round(result.seconds, 3), **diff.as_dict()}))
        return
    console.print(f"refilter: decision set {result.before_id or '(none)'} -> {result.after_id}: "
                  f"{diff.b_kept} kept of {result.candidates} candidates in {result.seconds:.2f} s", highlight=False)
    console.print(f"  rejected -> kept: {len(diff.gained)}   kept -> rejected: {len(diff.lost)}", highlight=False)
    for title, counts in (("newly rejected by", diff.lost_by_reason), ("no longer rejected by", diff.gained_by_reason)):
        for reason, count in counts.most_common(10):
            console.print(f"    {count:>6}  {title} {reason}", highlight=False, markup=False)
    if dry_run:
        console.print("  (--dry-run: the run's config was not changed)", highlight=False)


@audit_app.command("report")
def report(workdir: ExistingWorkdir,
           out_path: Annotated[Path | None, typer.Option("--out", help="HTML file to write")] = None,
           decision_set: DecisionSet = None,
           max_cards: Annotated[int, typer.Option(help="thumbnails per contact sheet", min=0)] = 300,
           thumb_width: Annotated[int, typer.Option(help="thumbnail width in pixels", min=16)] = 192) -> None:
    """Write one self-contained HTML page: funnel, histograms, contact sheets, timelines, search."""
    from ophora_data.audit.report import write_report

    run, cfg = existing_run(workdir)
    path = write_report(run, cfg, out_path, decision_set_id=decision_set, max_cards=max_cards,
                        thumb_width=thumb_width, progress=True)
    console.print(f"audit report: {path}", highlight=False)


@audit_app.command("explain")
def explain(clip_id: Annotated[str, typer.Argument(help="e.g. X3jTUYMflCk_26")], workdir: ExistingWorkdir,
            decision_set: DecisionSet = None, json_: JsonFlag = False) -> None:
    """Everything about one clip: source, span, narration, instruction, checks, decision, files."""
    from ophora_data.audit.explain import UnknownClip, format_explain
    from ophora_data.audit.explain import explain as do_explain

    run, cfg = existing_run(workdir)
    try:
        info = do_explain(run, cfg, clip_id, decision_set)
    except UnknownClip as exc:
        fail(str(exc.args[0]), EXIT_USAGE)
    if json_:
        out.print_json(json.dumps(info, default=str))
    else:
        out.print(format_explain(info), highlight=False, markup=False, soft_wrap=True)


@audit_app.command("query")
def query(sql: Annotated[str, typer.Argument(help="DuckDB SQL over the views (see docs/audit.md)")],
          workdir: ExistingWorkdir,
          csv_: Annotated[bool, typer.Option("--csv", help="CSV on stdout")] = False,
          json_: JsonFlag = False) -> None:
    """DuckDB SQL over the run's tables: views <stage>, <stage>_all, checks, decisions."""
    from ophora_data.audit.query import QueryError, run_query

    run, cfg = existing_run(workdir)
    try:
        result = run_query(run, cfg, sql)
    except QueryError as exc:
        fail(f"query failed: {exc}", EXIT_USAGE)
    if csv_:
        typer.echo(result.to_csv(), nl=False)
    elif json_:
        typer.echo(result.to_json())
    else:
        table = RichTable(*result.columns, show_lines=False)
        for row in result.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)
        console.print(f"{len(result.rows)} row(s)", highlight=False)


@audit_app.command("diff")
def diff(a: Annotated[str, typer.Argument(help="decision-set id (prefix ok), run dir, or run_dir@set_id")],
         b: Annotated[str, typer.Argument(help="the same, for the other side")],
         workdir: Annotated[Path | None, typer.Option("--workdir", "-w", help="run holding both sets")] = None,
         json_: JsonFlag = False,
         show: Annotated[int, typer.Option(help="clip ids to list per direction", min=0)] = 20) -> None:
    """Clips gained and lost between two decision sets (or two run dirs), by reason."""
    from ophora_data.audit.diff import DiffError, diff_specs

    run = RunDir(workdir) if workdir is not None else None
    try:
        result = diff_specs(a, b, run)
    except DiffError as exc:
        fail(str(exc), EXIT_USAGE)
    if json_:
        out.print_json(json.dumps(result.as_dict()))
        return
    out.print(f"A {result.a}: {result.a_kept} kept\nB {result.b}: {result.b_kept} kept", highlight=False)
    for label, clips, counts, verb in (("gained (rejected in A, kept in B)", result.gained, result.gained_by_reason,
                                        "was rejected by"),
                                       ("lost (kept in A, rejected in B)", result.lost, result.lost_by_reason,
                                        "now rejected by")):
        out.print(f"{label}: {len(clips)}", highlight=False)
        for reason, count in counts.most_common():
            out.print(f"    {count:>6}  {verb} {reason}", highlight=False, markup=False)
        shown = ", ".join(clips[:show]) + (" ..." if len(clips) > show else "")
        if clips and show:
            out.print(f"    clips: {shown}", highlight=False, markup=False)
    if result.only_a or result.only_b:
        out.print(f"candidates only in A: {len(result.only_a)}, only in B: {len(result.only_b)}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `refilter` and the `audit` group to the app."""
    app.command("refilter")(refilter)
    app.add_typer(audit_app, name="audit")

