"""Interactive commands on run directories of the paper's size (not a test).

    .venv/bin/python benchmarks/scale.py                          # 10K, 40K, 160K clips from a fresh demo run
    .venv/bin/python benchmarks/scale.py --sizes 10000 --base demo-run --keep

Builds run directories from a small real run (by default the offline demo, run first): every
stage table replicated with new ids (`S0000000001`-style video ids, `<video_id>_<n>` clip ids,
windows shifted in time so a video holds --clips-per-video windows), schema identical, written as
a real run writes them (one part per `run.flush_every` work items), media, transcripts and privacy
boxes hard-linked. Then it times each command as a whole process (wall seconds and peak RSS of the
process): `status` before compaction, `compact`, `status` with every table counted (its status
summaries removed), then `status` (reading the summaries), `run` with nothing pending,
`decide --overwrite`, `audit query`, `audit explain`, `refilter`, `audit diff` and `audit report`.
The physical baseline, measured in the same run: a fresh process in which DuckDB counts every row
of the same Parquet tables. Prints a table with the growth factor from the smallest to the largest
size, writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
from bench_common import write_results  # noqa: E402

from ophora_data.run.db import RunDB  # noqa: E402
from ophora_data.run.summary import SUMMARY_FILE  # noqa: E402
from ophora_data.run.tables import current_rows_sql, quote_literal  # noqa: E402
from ophora_data.run.workdir import RunDir  # noqa: E402
from ophora_data.stages.registry import get_stage  # noqa: E402

CLI = [sys.executable, "-c", "from cli import main; main()"]
GOALS = {"status": 3.0, "refilter": 10.0, "audit query": 2.0, "audit explain": 2.0, "run (nothing pending)": 15.0}
RSS_GOAL_MB = 1536


def _peak_rss_kib(pid: int) -> int | None:
    """The process's own peak RSS (VmHWM). Read from /proc while it runs: `wait4`'s ru_maxrss would
    include the RSS this (large) benchmark process had when it forked the child."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def run_command(argv: list[str], cwd: Path = ROOT, timeout_s: float = 3600) -> dict[str, Any]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MiB) and exit code of one whole process.

    CPU seconds do not depend on what else the machine runs; wall seconds are what a user waits."""
    started = time.perf_counter()
    peak = 0
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(argv, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _peak_rss_kib(process.pid) or 0)
            if time.perf_counter() - started > timeout_s:
                process.kill()
            time.sleep(0.02)
        wall = time.perf_counter() - started
        output.seek(0)
        tail = output.read().decode("utf-8", "replace")[-600:]
    code = os.waitstatus_to_exitcode(status)
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(peak / 1024, 1), "exit_code": code, **({"output_tail": tail} if code else {})}


def build_base(out: Path) -> RunDir:
    """The offline demo run (about a minute): the small real run every size is replicated from."""
    result = run_command([*CLI, "demo", "-w", str(out), "--fresh"], timeout_s=1800)
    if result["exit_code"]:
        raise SystemExit(f"the demo run failed:\n{result.get('output_tail')}")
    return RunDir(out)


def _base_video(base: RunDir) -> str:
    rows = duckdb.sql(f"SELECT DISTINCT video_id FROM read_parquet({quote_literal(str(base.table('probe').dir))} "
                      f"|| '/*.parquet') WHERE status = 'ok'").fetchall()
    if len(rows) != 1:
        raise SystemExit(f"the base run must hold exactly one ok video (found {len(rows)})")
    return rows[0][0]


def _replicate_table(con: duckdb.DuckDBPyConnection, base: RunDir, out: RunDir, stage: str, old_vid: str,
                     videos: int, blocks: int, per_block: int, offset_s: float, flush_every: int) -> int:
    """Write `stage`'s replicated rows (its current rows in `base`: a rerun with --overwrite left
    older rows there that a real run of this size would not hold twice) as part files of
    `flush_every` work items each."""
    scan = base.table(stage).scan_sql()
    if scan is None:
        return 0
    cls = get_stage(stage)
    source = f"({current_rows_sql(cls.work_key(), RunDB(base).config_hash(stage)).format(scan=f'({scan})')})"
    columns = {row[0]: row[1] for row in con.execute(f"DESCRIBE {source}").fetchall()}
    clip_level = "clip_id" in columns and cls.key == "clip_id"
    new_clip = ("CASE WHEN t.clip_id IS NULL THEN NULL ELSE r.vid || '_' || "
                f"(CAST(regexp_extract(t.clip_id, '_(\\d+)$', 1) AS INT) + r.block * {per_block}) END")
    replaced = []
    for name, kind in columns.items():
        if name in ("_part", "_row"):
            continue
        col = f"t.{json.dumps(name)}"
        if kind in ("VARCHAR", "JSON"):
            text = f"CAST({col} AS VARCHAR)"
            if clip_level:
                text = f"replace({text}, coalesce(t.clip_id, chr(0)), coalesce({new_clip}, ''))"
            value = f"replace({text}, {quote_literal(old_vid)}, r.vid)"
            replaced.append(f"CAST({value} AS {kind}) AS {json.dumps(name)}")
        elif clip_level and name in ("start", "end"):
            replaced.append(f"{col} + r.block * {offset_s} AS {json.dumps(name)}")
        else:
            replaced.append(f"{col} AS {json.dumps(name)}")
    work_key = cls.work_key()
    item = "r.vid" if work_key == "video_id" or not clip_level else new_clip
    rows = (f"SELECT {', '.join(replaced)}, dense_rank() OVER (ORDER BY {item}) // {flush_every} AS _part_no "
            f"FROM ({source}) t CROSS JOIN _replicas r "
            f"WHERE {'(t.clip_id IS NOT NULL OR r.block = 0)' if clip_level else 'r.block = 0'} "
            f"ORDER BY _part_no, t._part, t._row, r.block")
    scratch = out.table(stage).dir / "_scratch"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ({rows}) TO {quote_literal(str(scratch))} (FORMAT parquet, PARTITION_BY (_part_no), "
                f"COMPRESSION zstd, OVERWRITE_OR_IGNORE)")
    parts = sorted(scratch.glob("_part_no=*/*.parquet"), key=lambda p: int(p.parent.name.split("=")[1]))
    stamp = time.time_ns()
    for index, path in enumerate(parts):
        path.rename(out.table(stage).dir / f"part-{stamp + index:020d}-0-bench{index:04d}.parquet")
    shutil.rmtree(scratch)
    if base.table(stage).done_dir.is_dir():
        shutil.copytree(base.table(stage).done_dir, out.table(stage).done_dir, dirs_exist_ok=True)
    return len(parts)


def _link(source: Path, dest: Path) -> None:
    """Hard link `dest` to `source`; a symbolic link once the file system's link count per file is
    reached (ext4: 65,000; the 6 demo clips stand for 160K clips, more with --keep)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        try:
            os.link(source, dest)
        except OSError as exc:
            if exc.errno != errno.EMLINK:
                raise
            dest.symlink_to(source.resolve())


def replicate(base: RunDir, out: Path, clips: int, clips_per_video: int, flush_every: int) -> dict[str, Any]:
    """A run directory of about `clips` candidate clips built from `base` (see the module doc)."""
    if out.exists():
        shutil.rmtree(out)
    run = RunDir(out).create()
    old_vid = _base_video(base)
    con = duckdb.connect()
    segment = base.table("segment").scan_sql()
    per_block = con.execute(f"SELECT count(DISTINCT clip_id) FROM ({segment})").fetchall()[0][0]
    offset_s = con.execute(f"SELECT max(duration_s) FROM ({base.table('probe').scan_sql()})").fetchall()[0][0] or 60.0
    blocks = max(1, round(clips_per_video / per_block))
    videos = max(1, round(clips / (per_block * blocks)))
    con.execute(f"CREATE TABLE _replicas AS SELECT 'S' || lpad(CAST(v AS VARCHAR), 10, '0') AS vid, b AS block "
                f"FROM range({videos}) t(v), range({blocks}) u(b)")
    shutil.copy(base.config_path, run.config_path)
    if (base.root / "decisions").is_dir():
        shutil.copytree(base.root / "decisions", run.root / "decisions")
    parts = {stage: _replicate_table(con, base, run, stage, old_vid, videos, blocks, per_block, offset_s,
                                     flush_every) for stage in base.stages_with_tables()}
    ids = con.execute("SELECT vid, block FROM _replicas").fetchall()
    base_clips = sorted(p for p in base.clips_dir.glob(f"{old_vid}_*.mp4"))
    for vid, block in ids:
        if block == 0:
            _link(base.raw_video(old_vid), run.raw_video(vid))
            _link(base.transcripts_dir / f"{old_vid}.json", run.transcripts_dir / f"{vid}.json")
        for clip in base_clips:
            n = int(clip.stem.rsplit("_", 1)[1]) + block * per_block
            new = f"{vid}_{n}"
            _link(clip, run.clip(new))
            for folder, suffix in ((base.redacted_dir, ".mp4"), (base.root / "privacy", ".json")):
                source = folder / f"{clip.stem}{suffix}"
                if source.is_file():
                    _link(source, (run.redacted_dir if folder == base.redacted_dir else run.root / "privacy")
                          / f"{new}{suffix}")
    return {"videos": videos, "clips": videos * blocks * per_block, "part_files": sum(parts.values())}


def commands(run: Path, set_ids: tuple[str, str] | None, clip_id: str) -> list[tuple[str, list[str]]]:
    w = ["-w", str(run)]
    return [
        ("status", [*CLI, "status", *w]),
        ("run (nothing pending)", [*CLI, "run", *w]),
        ("decide --overwrite", [*CLI, "decide", *w, "--overwrite"]),
        ("audit query", [*CLI, "audit", "query", "SELECT decision, count(*) FROM decide GROUP BY 1", *w]),
        ("audit explain", [*CLI, "audit", "explain", clip_id, *w]),
        ("refilter", [*CLI, "refilter", *w, "--set", "quality.width.min=1300"]),
    ]


def duckdb_baseline(run: Path) -> dict[str, Any]:
    """A fresh process in which DuckDB counts every row of the run's Parquet tables."""
    code = ("import duckdb, sys; print(duckdb.sql(\"SELECT count(*) FROM read_parquet('\" + sys.argv[1] + "
            "\"/tables/*/*.parquet', union_by_name=true)\").fetchall())")
    return run_command([sys.executable, "-c", code, str(run)])


def check_current(run: Path, clips: int) -> str:
    """Every replicated window must be a current row (the base run was made by this code version);
    returns a clip id for `audit explain`. Exits with a message otherwise."""
    db = RunDB(RunDir(run))
    current = db.scalar("SELECT count(DISTINCT clip_id) FROM segment") or 0
    if current != clips:
        raise SystemExit(f"{run}: {current} of {clips} windows are current rows under this code's config hashes: "
                         "rebuild the base run with this version (omit --base)")
    return str(db.scalar("SELECT max(clip_id) FROM segment"))


def measure(run: Path, size: int, clip_id: str) -> dict[str, Any]:
    results: dict[str, Any] = {"baseline: duckdb scan (before compaction)": duckdb_baseline(run)}
    results["status (before compaction)"] = run_command([*CLI, "status", "-w", str(run)])
    results["compact"] = run_command([*CLI, "compact", "-w", str(run)])
    results["baseline: duckdb scan"] = duckdb_baseline(run)
    # Every table counted, as after files changed outside a run: no status summaries. (`run` and
    # `compact` leave them; the `status` below reads the ones this one writes.)
    for summary in run.glob(f"tables/*/{SUMMARY_FILE}"):
        summary.unlink()
    results["status (tables counted, no summaries)"] = run_command([*CLI, "status", "-w", str(run)])
    for name, argv in commands(run, None, clip_id):
        results[name] = run_command(argv)
    sets = [p.stem for p in sorted((run / "decisions").glob("*.json"), key=lambda p: json.loads(
        p.read_text()).get("activated_at") or "")]
    if len(sets) >= 2:
        results["audit diff"] = run_command([*CLI, "audit", "diff", sets[-2], sets[-1], "-w", str(run)])
    results["audit report"] = run_command([*CLI, "audit", "report", "-w", str(run), "--out", str(run / "report.html")])
    report = run / "report.html"
    results["audit report"]["html_mb"] = round(report.stat().st_size / 2**20, 2) if report.exists() else None
    if report.exists():
        results["report opens in Chromium"] = open_in_chromium(report)
    return results


def open_in_chromium(page: Path) -> dict[str, Any]:
    """Seconds until headless Chromium has loaded the report and drawn its first timeline page."""
    from tests.audit.chromium import Chromium, find_chromium

    binary = find_chromium()
    if binary is None:
        return {"skipped": "no chromium installed"}
    browser = Chromium(binary, Path(tempfile.mkdtemp(prefix="ophora-chromium-")))
    try:
        started = time.perf_counter()
        browser.navigate(page.as_uri())
        drawn = browser.evaluate("document.querySelectorAll('#timeline-list rect.win').length")
        return {"wall_s": round(time.perf_counter() - started, 2), "windows_drawn": drawn,
                "problems": browser.problems()}
    finally:
        browser.close()


def print_table(sizes: list[int], by_size: dict[int, dict[str, Any]]) -> None:
    names = list(by_size[sizes[0]]["commands"])
    header = ["command", *[f"{s // 1000}K clips" for s in sizes], f"growth {sizes[0] // 1000}K→{sizes[-1] // 1000}K",
              "goal"]
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for name in names:
        cells = []
        for size in sizes:
            r = by_size[size]["commands"].get(name, {})
            cell = f"{r.get('wall_s', '?')} s ({r.get('cpu_s', '?')} CPU-s) / {r.get('peak_rss_mb', '?')} MB"
            if r.get("html_mb") is not None:
                cell += f", {r['html_mb']} MB HTML"
            if r.get("exit_code"):
                cell += f" (exit {r['exit_code']})"
            cells.append(cell)
        first = by_size[sizes[0]]["commands"].get(name, {}).get("wall_s")
        last = by_size[sizes[-1]]["commands"].get(name, {}).get("wall_s")
        growth = f"{last / first:.1f}x" if first and last and len(sizes) > 1 else "-"
        goal = f"≤ {GOALS[name]} s" if name in GOALS else ""
        print("| " + " | ".join([name, *cells, growth, goal]) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 40_000, 160_000], help="clips per run")
    parser.add_argument("--base", type=Path, help="a finished small run to replicate (default: a fresh demo run)")
    parser.add_argument("--work", type=Path, help="where to build the runs (default: a temp dir)")
    parser.add_argument("--clips-per-video", type=int, default=18, help="windows per replicated video")
    parser.add_argument("--flush-every", type=int, default=64, help="work items per part file, as run.flush_every")
    parser.add_argument("--keep", action="store_true", help="keep the built run directories")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ophora-scale-"))
    base = RunDir(args.base) if args.base else build_base(work / "base")
    by_size: dict[int, dict[str, Any]] = {}
    for size in sorted(args.sizes):
        target = work / f"run-{size}"
        started = time.perf_counter()
        built = replicate(base, target, size, args.clips_per_video, args.flush_every)
        built["build_s"] = round(time.perf_counter() - started, 1)
        print(f"{size} clips: built {built}", flush=True)
        clip_id = check_current(target, built["clips"])
        by_size[size] = {"run": built, "commands": measure(target, size, clip_id)}
        for name, result in by_size[size]["commands"].items():
            print(f"  {name}: {result}", flush=True)
        if not args.keep:
            shutil.rmtree(target)
    sizes = sorted(by_size)
    print_table(sizes, by_size)
    write_results("scale", {"sizes": sizes, "goals_s": GOALS, "rss_goal_mb": RSS_GOAL_MB,
                            "clips_per_video": args.clips_per_video, "flush_every": args.flush_every,
                            "results": {str(k): v for k, v in by_size.items()}}, args.out)


if __name__ == "__main__":
    main()
