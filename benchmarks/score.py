"""Throughput of the `score` stage: decode+preprocess, encode, and end to end (frames/s).

    .venv/bin/python benchmarks/score.py                        # random ViT-B-32, generated clips
    .venv/bin/python benchmarks/score.py --model ViT-B-16 --pretrained ~/ckpt/ophclip.pt --clips 64

Without --pretrained the named architecture gets random weights (saved to a temp checkpoint
and loaded through the normal path): speed does not depend on the weights' values, and these
numbers are never scores. Prints a table and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import cpu_name, write_results  # noqa: E402

from ophora_data.config import resolve_config  # noqa: E402
from ophora_data.executors.local import RunOptions, run_stage  # noqa: E402
from ophora_data.run.workdir import RunDir  # noqa: E402
from ophora_data.scoring.prefetch import prefetch  # noqa: E402
from ophora_data.stages.base import Row  # noqa: E402
from ophora_data.stages.score import ScoreStage  # noqa: E402


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(0)
    return f"{cpu_name()} ({torch.get_num_threads()} torch threads)"


def make_clips(folder: Path, count: int, seconds: float, size: str, fps: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for n in range(count):
        out = folder / f"bench_{n}.mp4"
        source = "testsrc2" if n % 2 == 0 else "mandelbrot"
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"{source}=size={size}:rate={fps},trim=start={n * 0.37}:duration={seconds}",
                        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out)], check=True)
        clips.append(out)
    return clips


class _BenchScore(ScoreStage):
    """The real stage over prepared clips (no upstream tables needed)."""

    bench_items: list[Row] = []

    def items(self) -> list[Row]:
        return list(self.bench_items)


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--pretrained", default=None, help="tag or checkpoint; default: random weights")
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--decode-workers", type=int, default=2)
    parser.add_argument("--prefetch", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seconds", type=float, default=5.5)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    import open_clip
    import torch

    with tempfile.TemporaryDirectory(prefix="ophora-bench-score-") as tmp:
        tmpdir = Path(tmp)
        pretrained = args.pretrained
        if pretrained is None:
            torch.manual_seed(0)
            checkpoint = tmpdir / f"{args.model}-random.pt"
            torch.save(open_clip.create_model(args.model, pretrained=None).state_dict(), checkpoint)
            pretrained = str(checkpoint)
        run = RunDir(tmpdir / "run").create()
        clips = make_clips(run.clips_dir, args.clips, args.seconds, args.size, args.fps)
        config = resolve_config(None, None, [
            f"score.model={args.model}", f"score.pretrained={pretrained}", f"score.frames={args.frames}",
            f"score.batch_size={args.batch_size}", f"score.decode_workers={args.decode_workers}",
            f"score.prefetch={args.prefetch}", f"score.device={args.device}"])
        _BenchScore.bench_items = [
            {"clip_id": path.stem, "video_id": "bench", "path": str(path), "start": float(n),
             "instruction": f"Grasp the anterior capsule with the forceps, step {n}."}
            for n, path in enumerate(clips)]
        stage = _BenchScore(config, run)
        _, load_s = timed(stage.setup)
        encoder = stage.encoder
        assert encoder is not None
        frames_total = args.clips * args.frames

        # 1. decode + preprocess (the CPU side, through the same prefetch pool as the stage)
        inputs, decode_s = timed(lambda: [x for _, x in prefetch(_BenchScore.bench_items, stage._load_frames,
                                                                   args.decode_workers, args.prefetch)])
        failed = [x for x in inputs if isinstance(x, Exception)]
        if failed:
            raise SystemExit(f"decode failed: {failed[0]}")
        # 2. encode only (the model side), after one warm-up batch
        encoder.encode_images(inputs[:1])
        if str(encoder.device).startswith("cuda"):
            torch.cuda.synchronize()
        _, encode_s = timed(lambda: encoder.encode_images(inputs))
        # 3. end to end: the stage (model already loaded: load time is reported apart) with an empty
        #    cache, then again from the cache
        shutil.rmtree(run.cache_dir / "score", ignore_errors=True)
        fresh = _BenchScore(config, run, encoder=encoder)
        _, e2e_s = timed(lambda: run_stage(fresh, RunOptions(progress=False)))
        # A new config hash (bounds are not hashed; an execution setting is), so every clip is
        # scored again, from the cache.
        cached_config = resolve_config(config.model_dump(mode="json"), None, [f"score.prefetch={args.prefetch + 1}"])
        again = _BenchScore(cached_config, run, encoder=encoder)
        _, cached_s = timed(lambda: run_stage(again, RunOptions(progress=False)))

    results = {
        "benchmark": "score", "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "device": str(encoder.device), "device_name": device_name(str(encoder.device)),
        "model": args.model, "weights": "random (throughput only)" if args.pretrained is None else encoder.name,
        "dtype": str(encoder.dtype), "clips": args.clips, "frames_per_clip": args.frames,
        "clip": f"{args.size} {args.fps} fps {args.seconds} s", "batch_size": args.batch_size,
        "decode_workers": args.decode_workers, "prefetch": args.prefetch, "model_load_s": round(load_s, 2),
        "decode_preprocess_frames_per_s": round(frames_total / decode_s, 2),
        "encode_frames_per_s": round(frames_total / encode_s, 2),
        "end_to_end_frames_per_s": round(frames_total / e2e_s, 2),
        "end_to_end_clips_per_s": round(args.clips / e2e_s, 3),
        "cached_rerun_clips_per_s": round(args.clips / cached_s, 2),
        "encoded_on_cached_rerun": again.encoded,
    }
    print_table(results)
    write_results(f"score-{results['device']}", results, args.out)


def print_table(results: dict[str, Any]) -> None:
    print(f"score benchmark on {results['device_name']} [{results['device']}, {results['dtype']}]")
    print(f"model {results['model']} ({results['weights']}), {results['clips']} clips of {results['clip']}, "
          f"{results['frames_per_clip']} frames/clip, batch {results['batch_size']}, "
          f"{results['decode_workers']} decode workers, prefetch {results['prefetch']}")
    rows = [("decode + preprocess", results["decode_preprocess_frames_per_s"], "frames/s"),
            ("encode (images)", results["encode_frames_per_s"], "frames/s"),
            ("end to end (stage)", results["end_to_end_frames_per_s"], "frames/s"),
            ("end to end (stage)", results["end_to_end_clips_per_s"], "clips/s"),
            ("rerun from cache", results["cached_rerun_clips_per_s"], "clips/s")]
    print(f"\n{'phase':<22}{'rate':>12}  unit")
    print("-" * 42)
    for phase, rate, unit in rows:
        print(f"{phase:<22}{rate:>12,.2f}  {unit}")


if __name__ == "__main__":
    main()
