"""Throughput of the `privacy` stage's phases vs ffmpeg's plain re-encode of the same clip (frames/s).

    .venv/bin/python benchmarks/privacy.py                          # generated 720p clip with a timestamp
    .venv/bin/python benchmarks/privacy.py --clip some_clip.mp4 --set privacy.every_n_frames=10

Phases: decode of the sampled frames alone, detect (faces, text, both: per *sampled* frame,
decode included), blur + encode (per frame of the clip;
boxes from detection, or one central box on every frame when nothing was found, so the blur
work is always measured), verify (per sampled frame of the redacted clip), and
`ffmpeg -c:v libx264` with the same preset and CRF (per frame). Prints a table and writes
JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import cpu_name, write_results  # noqa: E402

from ophora_data.config import resolve_config  # noqa: E402
from ophora_data.config.privacy import PrivacyConfig  # noqa: E402
from ophora_data.media.frames import sample_frames  # noqa: E402
from ophora_data.media.timeline import read_timeline  # noqa: E402
from ophora_data.privacy.boxes import Box, ClipDetections  # noqa: E402
from ophora_data.privacy.detectors import Detectors, build_detectors  # noqa: E402
from ophora_data.privacy.redact import encode_redacted  # noqa: E402
from ophora_data.privacy.smoothing import boxes_per_frame  # noqa: E402
from ophora_data.privacy.verify import detect_clip  # noqa: E402


def make_clip(out: Path, size: str, seconds: float, fps: int) -> Path:
    """testsrc2 with a burned-in running timestamp (drawtext) when ffmpeg has it, else plain."""
    base = f"testsrc2=size={size}:rate={fps}:duration={seconds}"
    stamp = ",drawtext=text='%{pts\\:hms}':x=20:y=20:fontsize=36:fontcolor=white:box=1:boxcolor=black@0.5"
    for graph in (base + stamp, base):
        done = subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", graph,
                               "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(out)],
                              capture_output=True)
        if done.returncode == 0:
            return out
    raise RuntimeError(f"ffmpeg could not generate the benchmark clip: {done.stderr.decode()[-300:]}")


def best_of(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of `repeats` runs (the least disturbed by other load) and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def fallback_boxes(found: ClipDetections) -> ClipDetections:
    """A central box on every sampled frame, so blur + encode always does blur work."""
    box = Box(found.width // 4, found.height // 4, found.width // 2, found.height // 2, "face")
    return ClipDetections(found.width, found.height, found.fps, found.total_frames,
                          {i: [box] for i in found.frames})


def measure(clip: Path, config: PrivacyConfig, repeats: int, work_dir: Path) -> dict[str, Any]:
    detectors = build_detectors(config)
    total = read_timeline(clip).total_frames
    sampled = len(range(0, total, config.every_n_frames))
    rows: dict[str, Any] = {}
    sample_frames(clip, every_n=config.every_n_frames)  # warm-up: the first decode imports torch/torchcodec
    seconds, _ = best_of(repeats, lambda: sample_frames(clip, every_n=config.every_n_frames))
    rows["decode (sampled)"] = {"seconds": seconds, "frames": sampled, "frames_per_s": sampled / seconds}
    found = None
    for label, only in (("detect faces", Detectors(detectors.face, None)),
                        ("detect text", Detectors(None, detectors.text)), ("detect (both)", detectors)):
        if not only.active:
            continue
        seconds, found = best_of(repeats, lambda d=only: detect_clip(clip, d, config.every_n_frames))
        rows[label] = {"seconds": seconds, "frames": sampled, "frames_per_s": sampled / seconds}
    if found is None:  # no detector configured: sample frames only, to get the clip's geometry
        found = detect_clip(clip, detectors, config.every_n_frames)
    boxes = found if found.any else fallback_boxes(found)
    per_frame = boxes_per_frame(boxes, config.hold, config.box_dilation)
    redacted = work_dir / "redacted.mp4"
    seconds, _ = best_of(repeats, lambda: encode_redacted(clip, redacted, per_frame, config))
    rows["blur + encode"] = {"seconds": seconds, "frames": total, "frames_per_s": total / seconds}
    seconds, _ = best_of(repeats, lambda: detect_clip(redacted, detectors, config.verify_stride))
    checked = len(range(0, total, config.verify_stride))
    rows["verify"] = {"seconds": seconds, "frames": checked, "frames_per_s": checked / seconds}
    plain = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(clip), "-map", "0:v:0", "-c:v", "libx264",
             "-preset", config.preset, "-crf", str(config.crf), "-pix_fmt", "yuv420p",
             str(work_dir / "plain.mp4")]
    seconds, _ = best_of(repeats, lambda: subprocess.run(plain, check=True))
    rows["ffmpeg re-encode"] = {"seconds": seconds, "frames": total, "frames_per_s": total / seconds}
    return {"phases": rows, "detections": {"faces": found.count("face"), "text_boxes": found.count("text")},
            "detectors": detectors.describe(), "total_frames": total, "sampled_frames": sampled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, help="a clip to measure (default: a generated one)")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=5.5, help="generated clip length (Ophora's mean)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="config override, e.g. "
                        "privacy.every_n_frames=10 (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    config = resolve_config(None, None, args.sets).privacy
    with tempfile.TemporaryDirectory(prefix="privacy-bench-") as tmp:
        clip = args.clip or make_clip(Path(tmp) / "bench.mp4", args.size, args.seconds, args.fps)
        timeline = read_timeline(clip)
        measured = measure(clip, config, args.repeats, Path(tmp))
    results = {"benchmark": "privacy", "cpu": cpu_name(), "clip": str(args.clip or f"generated {args.size} "
               f"{args.seconds}s {args.fps}fps"), "size": f"{timeline.width}x{timeline.height}",
               "every_n_frames": config.every_n_frames, "preset": config.preset, "crf": config.crf,
               "blur": config.blur, "repeats": args.repeats, **measured}
    print_table(results)
    write_results("privacy", results, args.out)


def print_table(results: dict[str, Any]) -> None:
    print(f"privacy benchmark on {results['cpu']}: {results['clip']} ({results['size']}, "
          f"{results['total_frames']} frames), every {results['every_n_frames']}th frame sampled, "
          f"x264 {results['preset']} CRF {results['crf']}, best of {results['repeats']}")
    print(f"detections: {results['detections']}")
    plain = results["phases"]["ffmpeg re-encode"]["frames_per_s"]
    print(f"\n{'phase':<18}{'frames':>8}{'seconds':>10}{'frames/s':>11}{'vs ffmpeg':>11}")
    print("-" * 58)
    for name, row in results["phases"].items():
        print(f"{name:<18}{row['frames']:>8}{row['seconds']:>10.2f}{row['frames_per_s']:>11.1f}"
              f"{row['frames_per_s'] / plain:>10.2f}x")


if __name__ == "__main__":
    main()
