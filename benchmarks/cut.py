"""Throughput of the `cut` stage against ffmpeg's own time for the same re-encode (not a test).

    .venv/bin/python benchmarks/cut.py                                  # 720p and 1080p, 120 s, 20 windows
    .venv/bin/python benchmarks/cut.py --heights 720 --duration 60 --windows 10 --coverage 0.3

For each generated source (testsrc2 with temporal noise, 30 fps, a keyframe every 4 s) it
times, on this machine and in this run:
  * baseline `per_clip`: one ffmpeg per window with input seeking (`-ss` before `-i`);
  * baseline `one_pass`: one ffmpeg trimming every window out of one decode of the source;
  * `cut`: the stage itself (timeline probe, plan, encode, verification decode, atomic rename),
    for each --strategies value, and checks every clip is frame-exact (frame count, and its first
    and last frames are the source frames at the window's timestamps).
All use the same encoder settings (libx264, --preset, --crf, yuv420p, +faststart, no audio).
Reports clips/s, video-seconds per CPU-second, and cut time / the faster baseline. Also times
the frame readers (torchcodec, decord) on one clip. Prints a table, writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import write_results  # noqa: E402

from ophora_data.config import Config, resolve_config  # noqa: E402
from ophora_data.executors.local import RunOptions, run_stage  # noqa: E402
from ophora_data.media.frames import READERS, get_reader, sample_frames  # noqa: E402
from ophora_data.media.timeline import read_timeline  # noqa: E402
from ophora_data.run.workdir import RunDir  # noqa: E402
from ophora_data.stages.cut import CutStage  # noqa: E402
from ophora_data.stages.registry import get_stage, stage_config_hash  # noqa: E402

Window = tuple[float, float]


def make_source(out: Path, height: int, duration: float) -> Path:
    width = height * 16 // 9
    source = f"testsrc2=size={width}x{height}:rate=30:duration={duration},noise=alls=12:allf=t"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", source, "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", "120", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def make_windows(duration: float, count: int, coverage: float, seed: int) -> list[Window]:
    """`count` windows of 2-10 s in time order, covering about `coverage` of the source, random gaps."""
    rng = random.Random(seed)
    lengths = [rng.uniform(2.0, 10.0) for _ in range(count)]
    scale = min(1.0, coverage * duration / sum(lengths))
    lengths = [max(2.0, n * scale) for n in lengths]
    free = max(0.0, duration - sum(lengths) - 0.5)
    cuts = sorted(rng.uniform(0, free) for _ in range(count))
    windows, offset, previous = [], 0.0, 0.0
    for length, cut in zip(lengths, cuts, strict=True):
        start = offset + (cut - previous)
        windows.append((round(start, 3), round(start + length, 3)))
        offset, previous = start + length, cut
    return windows


def timed(work: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (this process and its children) of `work()`."""
    before = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    start = time.perf_counter()
    work()
    wall = time.perf_counter() - start
    after = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before, strict=True))
    return wall, cpu


def encode_args(args: argparse.Namespace) -> list[str]:
    return ["-c:v", "libx264", "-preset", args.preset, "-crf", str(args.crf), "-pix_fmt", "yuv420p", "-an",
            "-movflags", "+faststart"]


def baseline_per_clip(source: Path, windows: list[Window], out: Path, args: argparse.Namespace) -> None:
    for n, (start, end) in enumerate(windows):
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-ss", f"{start}", "-i", str(source),
                        "-t", f"{end - start}", *encode_args(args), str(out / f"seek_{n}.mp4")], check=True)


def baseline_one_pass(source: Path, windows: list[Window], out: Path, args: argparse.Namespace) -> None:
    graph = [f"[0:v]split={len(windows)}" + "".join(f"[s{n}]" for n in range(len(windows)))]
    graph += [f"[s{n}]trim=start={a}:end={b},setpts=PTS-STARTPTS[v{n}]" for n, (a, b) in enumerate(windows)]
    argv = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(source), "-filter_complex", ";".join(graph)]
    for n in range(len(windows)):
        argv += ["-map", f"[v{n}]", *encode_args(args), str(out / f"pass_{n}.mp4")]
    subprocess.run(argv, check=True)


def run_cut_stage(source: Path, windows: list[Window], workdir: Path, config: Config) -> RunDir:
    run = RunDir(workdir).create()
    from ophora_data.media.probe import probe_file

    probe_hash = stage_config_hash(get_stage("probe"), config)
    run.table("probe").append([{"video_id": "src", "status": "ok", "reason": "", "path": str(source),
                                **probe_file(source), "config_hash": probe_hash}])
    seg_hash = stage_config_hash(get_stage("segment"), config)
    run.table("segment").append([{"clip_id": f"src_{n}", "video_id": "src", "status": "ok", "reason": "",
                                  "start": a, "end": b, "duration_s": b - a, "config_hash": seg_hash}
                                 for n, (a, b) in enumerate(windows)])
    run_stage(CutStage(config, run), RunOptions(progress=False))
    return run


def check_exact(run: RunDir, source: Path, windows: list[Window], config: Config) -> dict[str, Any]:
    """Frame count and first/last frames of every clip against the source frames at the window's times."""
    timeline = read_timeline(source)
    reader = get_reader("torchcodec")
    rows = {r["clip_id"]: r for r in CutStage(config, run).upstream_rows("cut")}
    exact, worst = 0, 0.0
    for n, (start, end) in enumerate(windows):
        row = rows.get(f"src_{n}")
        if not row or row["status"] != "ok":
            continue
        first, stop = timeline.frames_in(start, end)
        clip = run.root / row["path"]
        got = sample_frames(clip, every_n=max(1, stop - first - 1))  # first and last frame
        want = reader.read(source, timeline, [first, stop - 1])
        wrong = reader.read(source, timeline, [max(0, first - 1), min(timeline.total_frames - 1, stop)])
        dist = [np.abs(g.astype(int) - w.astype(int)).mean() for g, w in zip(got.frames, want, strict=True)]
        off = [np.abs(g.astype(int) - w.astype(int)).mean() for g, w in zip(got.frames, wrong, strict=True)]
        worst = max(worst, *dist)
        # Exact: the right frame count, and each end is closer to its source frame than to the neighbour.
        if got.total_frames == stop - first and all(d < o for d, o in zip(dist, off, strict=True)):
            exact += 1
    return {"clips_ok": sum(r["status"] == "ok" for r in rows.values()), "frame_exact": exact,
            "worst_boundary_mae": round(worst, 2),
            "modes": sorted({f"{r.get('cut_mode')}" for r in rows.values()})}


def bench_source(height: int, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    source = make_source(tmp / f"src_{height}.mp4", height, args.duration)
    windows = make_windows(args.duration, args.windows, args.coverage, args.seed)
    video_s = sum(b - a for a, b in windows)
    results = []

    def record(name: str, wall: float, cpu: float, **extra: Any) -> None:
        results.append({"source": f"{height}p", "method": name, "clips": len(windows),
                        "video_s": round(video_s, 2), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                        "clips_per_s": round(len(windows) / wall, 3),
                        "video_s_per_cpu_s": round(video_s / cpu, 3), **extra})

    for name, baseline in (("per_clip", baseline_per_clip), ("one_pass", baseline_one_pass)):
        out = tmp / f"{name}_{height}"
        out.mkdir()
        record(name, *timed(lambda b=baseline, o=out: b(source, windows, o, args)))
    best_wall = min(r["wall_s"] for r in results)
    best_cpu = min(r["cpu_s"] for r in results)
    for strategy in args.strategies:
        config = resolve_config(None, None, [f"cut.strategy={strategy}", f"cut.preset={args.preset}",
                                             f"cut.crf={args.crf}", f"cut.verify={args.verify}"])
        workdir = tmp / f"run_{height}_{strategy}"
        wall, cpu = timed(lambda w=workdir, c=config: run_cut_stage(source, windows, w, c))
        exact = check_exact(RunDir(workdir), source, windows, config)
        record(f"cut[{strategy}]", wall, cpu, vs_best_baseline_wall=round(wall / best_wall, 3),
               vs_best_baseline_cpu=round(cpu / best_cpu, 3), **exact)
    return results


def bench_readers(tmp: Path) -> list[dict[str, Any]]:
    clip = make_source(tmp / "reader_clip.mp4", 720, 10.0)
    out = []
    for name in READERS:
        for label, kwargs in (("8 frames", {"count": 8}), ("all frames", {"every_n": 1})):
            sample_frames(clip, reader=name, **kwargs)  # warm up imports
            wall, cpu = time.perf_counter(), time.process_time()
            got = sample_frames(clip, reader=name, **kwargs)
            # CPU time as well: on a shared machine wall time measures the neighbours too.
            out.append({"reader": name, "what": label, "frames": len(got.indices),
                        "wall_ms": round((time.perf_counter() - wall) * 1000, 1),
                        "cpu_ms": round((time.process_time() - cpu) * 1000, 1)})
    return out


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(w) for c, w in zip(columns, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--heights", type=int, nargs="+", default=[720, 1080])
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--coverage", type=float, default=0.7, help="share of the source inside windows")
    parser.add_argument("--strategies", nargs="+", default=["auto"], choices=["auto", "seek", "single_pass"])
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", type=int, default=20)
    parser.add_argument("--verify", default="packets", choices=["decode", "packets"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-readers", action="store_true", help="skip the frame reader timing")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ophora-bench-cut-"))
    try:
        rows = [row for height in args.heights for row in bench_source(height, args, tmp)]
        readers = [] if args.no_readers else bench_readers(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(rows, ["source", "method", "clips", "video_s", "wall_s", "cpu_s", "clips_per_s",
                       "video_s_per_cpu_s", "vs_best_baseline_wall", "vs_best_baseline_cpu", "frame_exact",
                       "modes"])
    if readers:
        print()
        print_table(readers, ["reader", "what", "frames", "wall_ms", "cpu_ms"])
    report = {"args": {k: str(v) for k, v in vars(args).items()}, "cut": rows, "readers": readers,
              "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_results("cut", report, args.out)


if __name__ == "__main__":
    main()
