"""Privacy: recall on the real fixtures (old vs new detectors) and the stage's cost vs a plain re-encode.

    .venv/bin/python benchmarks/privacy.py                      # recall and cost, defaults
    .venv/bin/python benchmarks/privacy.py --part cost --set privacy.every_n_frames=10
    .venv/bin/python benchmarks/privacy.py --part recall --realdata ../shared/realdata
    .venv/bin/python benchmarks/privacy.py --part cost --workdir demo-run   # + the whole command on the demo

Recall: for every real fixture with a face or burned-in text, and the surgical ones that must
stay untouched (tests/privacy/realfixtures.py), the faces and text regions that YuNet + PP-OCRv4
(new defaults) and Haar + Tesseract (old) find; what either still finds on the redacted
frames (two passes, as the stage does; only boxes touching a redacted area count as left
visible); and the blurred area as a fraction of the frame.

Cost: `PrivacyStage.process` on clips (a generated 720p clip with a burned-in timestamp, a 720p
surgical clip made of the real Cataract frames, the real film and the real 224 px Cataract-1K
clip), CPU time of this process and its ffmpeg children, after the detectors are loaded, divided
by the CPU time of `ffmpeg -c:v libx264` re-encoding the same clips at the stage's preset and CRF,
measured in the same run. With `--workdir RUN` (e.g. after ./scripts/demo.sh), also the whole
`ophora-data privacy --overwrite --workers 1` command on that run's clips against re-encoding
them, start-up and model loading included. Prints tables; writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_common import write_results  # noqa: E402

from ophora_data.config import Config, resolve_config  # noqa: E402
from ophora_data.config.privacy import PrivacyConfig  # noqa: E402


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg), user + system."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# Recall -----------------------------------------------------------------------------------
def fixture_frames(realdata: Path, fixture: Any) -> list:
    from PIL import Image

    from ophora_data.media.frames import sample_frames

    path = realdata / fixture.path
    if fixture.kind == "video":
        return list(sample_frames(path, every_n=fixture.every_n).frames)
    import numpy as np

    files = sorted(path.glob("*.jpg")) if fixture.kind == "frames" else [path]
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def touching(found: list, redacted: list) -> list:
    def overlap(a: Any, b: Any) -> bool:
        return min(a.x + a.w, b.x + b.w) > max(a.x, b.x) and min(a.y + a.h, b.y + b.h) > max(a.y, b.y)

    return [f for f in found if any(overlap(f, r) for r in redacted)]


def recall(realdata: Path, config: PrivacyConfig) -> list[dict[str, Any]]:
    import numpy as np

    from ophora_data.privacy.detectors import build_detectors
    from ophora_data.privacy.redact import redact_frame
    from tests.privacy.realfixtures import FIXTURES

    new = build_detectors(config)
    old = build_detectors(config.model_copy(update={"face_detector": "haar", "text_detector": "tesseract"}))
    rows = []
    for fixture in FIXTURES:
        frames = fixture_frames(realdata, fixture)
        row: dict[str, Any] = {"fixture": fixture.path, "frames": len(frames), "expected_faces": fixture.faces,
                               "expected_text": fixture.text, "surgical": fixture.surgical}
        counts = {key: 0 for key in ("new_faces", "new_text", "old_faces", "old_text", "new_frames_with_face",
                                     "old_frames_with_face", "left_new", "left_old", "elsewhere_old")}
        blurred = []
        for frame in frames:
            height, width = frame.shape[:2]
            found_new, found_old = new.detect(frame), old.detect(frame)
            for who, found in (("new", found_new), ("old", found_old)):
                counts[f"{who}_faces"] += sum(b.kind == "face" for b in found)
                counts[f"{who}_text"] += sum(b.kind == "text" for b in found)
                counts[f"{who}_frames_with_face"] += any(b.kind == "face" for b in found)
            boxes = [b.dilated(config.box_dilation, width, height) for b in found_new]
            out = redact_frame(frame, boxes, config)
            if boxes:  # pass two, as the stage's verification loop does
                boxes += [b.dilated(config.box_dilation, width, height) for b in new.detect(out)]
                out = redact_frame(frame, boxes, config)
            mask = np.zeros((height, width), bool)
            for b in boxes:
                mask[b.y : b.y + b.h, b.x : b.x + b.w] = True
            blurred.append(float(mask.mean()))
            counts["left_new"] += len(new.detect(out)) if boxes else 0
            after_old = old.detect(out) if boxes else []
            counts["left_old"] += len(touching(after_old, boxes))
            counts["elsewhere_old"] += len(after_old) - len(touching(after_old, boxes))
        rows.append({**row, **counts, "blurred_area_mean": sum(blurred) / len(blurred),
                     "blurred_area_max": max(blurred)})
        print(f"  {fixture.path}: done", flush=True)
    return rows


# Cost -------------------------------------------------------------------------------------
def make_clips(realdata: Path | None, work: Path) -> dict[str, Path]:
    """A generated 720p clip with a burned-in timestamp, plus real clips when realdata is there."""
    clips = {}
    stamp = ("testsrc2=size=1280x720:rate=30:duration=5.5,drawtext=text='%{pts\\:hms}':x=40:y=40:fontsize=36:"
             "fontcolor=white:box=1:boxcolor=black@0.5")
    clips["generated 720p + timestamp"] = encode(["-f", "lavfi", "-i", stamp], work / "stamp.mp4")
    if realdata and realdata.is_dir():
        frames = sorted((realdata / "surgical/cataractsam2_frames").glob("*.jpg"))
        inputs = [arg for f in frames for arg in ("-loop", "1", "-framerate", "30", "-t", "0.6875", "-i", str(f))]
        graph = "".join(f"[{i}:v]" for i in range(len(frames))) + f"concat=n={len(frames)}:v=1:a=0,scale=1280:720[v]"
        clips["surgical 720p (Cataract frames)"] = encode([*inputs, "-filter_complex", graph, "-map", "[v]"],
                                                          work / "surgical.mp4")
        clips["film 640x360 (real)"] = realdata / "nonsurgical/people_silent_film_moviepy_chaplin.mp4"
        clips["Cataract-1K 224px (real)"] = (realdata / "surgical"
                                             / "cataract1k_case4687_capsulorhexis_52.50-57.50s_224px.mp4")
    return clips


def encode(inputs: list[str], out: Path) -> Path:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *inputs, "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "16", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def reencode_argv(clip: Path, out: Path, cfg: PrivacyConfig) -> list[str]:
    """The baseline: a plain ffmpeg re-encode of `clip` at the stage's preset and CRF, audio copied."""
    return ["ffmpeg", "-y", "-loglevel", "error", "-i", str(clip), "-map", "0:v:0", "-map", "0:a?", "-c:a", "copy",
            "-c:v", "libx264", "-preset", cfg.preset, "-crf", str(cfg.crf), "-pix_fmt", "yuv420p", str(out)]


def cost(clips: dict[str, Path], config: Config, work: Path, repeats: int) -> dict[str, Any]:
    from ophora_data.media.timeline import read_timeline
    from ophora_data.run.workdir import RunDir
    from ophora_data.stages.privacy import PrivacyStage

    cfg = config.privacy
    run = RunDir(work / "run").create()
    stage = PrivacyStage(config, run)
    start = cpu_seconds()
    stage.setup()
    setup_s = cpu_seconds() - start
    rows = []
    for label, clip in clips.items():
        plain = reencode_argv(clip, work / "plain.mp4", cfg)
        stage_s, plain_s, result = [], [], []
        for _ in range(repeats):  # alternate, so both see the same machine load
            start = cpu_seconds()
            result = stage.process({"clip_id": "bench_0", "video_id": "bench", "path": str(clip)})
            stage_s.append(cpu_seconds() - start)
            start = cpu_seconds()
            subprocess.run(plain, check=True)
            plain_s.append(cpu_seconds() - start)
        by_check = {r.get("check"): r for r in result}
        verification = by_check.get("verification", {})
        record = json.loads((run.root / verification["boxes_path"]).read_text()) if verification.get(
            "boxes_path") else {}
        detected = record.get("detected", {}).get("frames", {})
        rows.append({"clip": label, "frames": read_timeline(clip).total_frames,
                     "frames_looked_at": len(detected), "coarse_step": record.get("coarse_step"),
                     "coarse_frames": len(record.get("coarse_frames", [])),
                     "refined": [r[:3] for r in record.get("refined", [])],
                     "stage_cpu_s": min(stage_s), "reencode_cpu_s": min(plain_s),
                     "ratio": min(stage_s) / min(plain_s),
                     "faces": by_check.get("faces_found", {}).get("detections"),
                     "text_boxes": by_check.get("text_boxes_found", {}).get("detections"),
                     "verified_by": verification.get("verified_by"), "passed": verification.get("passed")})
        print(f"  {label}: done", flush=True)
    total_stage = sum(r["stage_cpu_s"] for r in rows)
    total_plain = sum(r["reencode_cpu_s"] for r in rows)
    return {"setup_cpu_s": setup_s, "clips": rows, "total_stage_cpu_s": total_stage,
            "total_reencode_cpu_s": total_plain, "total_ratio": total_stage / total_plain,
            "detectors": stage.detectors.describe() if stage.detectors else {}}


# The whole command on a run directory ---------------------------------------------------------
def run_directory(workdir: Path, config: Config, repeats: int) -> dict[str, Any]:
    """`ophora-data privacy --overwrite --workers 1` on an existing run directory (e.g. the demo's), as
    a whole process (start, model loading, tables), against a plain re-encode of its cut clips,
    alternating, best of `repeats`. The privacy settings are this benchmark's (defaults and --set),
    passed with --set where the run's resolved config differs (it keeps the values it was made with)."""
    import yaml

    workdir = workdir.resolve()  # the command runs from the project root
    clips = sorted((workdir / "media" / "clips").glob("*.mp4"))
    if not clips:
        raise SystemExit(f"no cut clips in {workdir / 'media' / 'clips'}: run ./scripts/demo.sh first")
    saved = workdir / "config.resolved.yaml"
    resolved = (yaml.safe_load(saved.read_text()) or {}).get("privacy", {}) if saved.is_file() else {}
    sets = [f"privacy.{key}={value if isinstance(value, str) else json.dumps(value)}"
            for key, value in config.privacy.model_dump(mode="json").items() if resolved.get(key) != value]
    command = [sys.executable, "-c", "from cli import main; main()", "privacy", "-w", str(workdir), "--overwrite",
               "--workers", "1", *(arg for item in sets for arg in ("--set", item))]
    stage_s, plain_s = [], []
    with tempfile.TemporaryDirectory(prefix="privacy-bench-") as tmp:
        for _ in range(repeats):
            start = cpu_seconds()
            done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            stage_s.append(cpu_seconds() - start)
            if done.returncode != 0:
                raise SystemExit(f"ophora-data privacy failed on {workdir} (exit {done.returncode}):\n"
                                 f"{done.stderr[-2000:]}")
            start = cpu_seconds()
            for clip in clips:
                subprocess.run(reencode_argv(clip, Path(tmp) / "plain.mp4", config.privacy), check=True)
            plain_s.append(cpu_seconds() - start)
    return {"workdir": str(workdir), "clips": len(clips), "overrides": sets, "stage_cpu_s": min(stage_s),
            "reencode_cpu_s": min(plain_s), "ratio": min(stage_s) / min(plain_s)}


def print_tables(results: dict[str, Any]) -> None:
    if "recall" in results:
        print("\nrecall on the real fixtures (new = YuNet + PP-OCRv4, old = Haar + Tesseract)")
        print("| fixture | frames | faces new/old (frames with a face) | text regions new/old | left after "
              "redaction new/old | blurred area mean/max |")
        print("|---|---|---|---|---|---|")
        for r in results["recall"]:
            print(f"| {Path(r['fixture']).name} | {r['frames']} | {r['new_faces']}/{r['old_faces']} "
                  f"({r['new_frames_with_face']}/{r['old_frames_with_face']}) | {r['new_text']}/{r['old_text']} | "
                  f"{r['left_new']}/{r['left_old']} | {r['blurred_area_mean']:.1%}/{r['blurred_area_max']:.1%} |")
    if "cost" in results:
        c = results["cost"]
        print(f"\ncost (CPU s, best of {results['repeats']}; detectors loaded once: {c['setup_cpu_s']:.1f} s)")
        print("| clip | frames | looked at (coarse step, intervals refined) | faces / text boxes found | verified by "
              "| stage | ffmpeg re-encode | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for r in c["clips"]:
            looked = f"{r['frames_looked_at']} ({r['coarse_step']}, {len(r['refined'])})"
            print(f"| {r['clip']} | {r['frames']} | {looked} | {r['faces']} / {r['text_boxes']} | {r['verified_by']} | "
                  f"{r['stage_cpu_s']:.2f} | {r['reencode_cpu_s']:.2f} | {r['ratio']:.2f}x |")
        print(f"| all | | | | | {c['total_stage_cpu_s']:.2f} | {c['total_reencode_cpu_s']:.2f} | "
              f"{c['total_ratio']:.2f}x |")
    if "run" in results:
        r = results["run"]
        print(f"\nwhole command on {r['workdir']} ({r['clips']} clips; best of {results['repeats']}): "
              f"privacy {r['stage_cpu_s']:.2f} CPU s, re-encode {r['reencode_cpu_s']:.2f} CPU s: {r['ratio']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "recall", "cost", "command"], default="all",
                        help="recall, cost (of the stage on four clips), command (only the whole command on "
                             "--workdir), or all (recall and cost; the command too when --workdir is given)")
    parser.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata",
                        help="the real fixtures (default: ../shared/realdata); recall and the real clips need them")
    parser.add_argument("--repeats", type=int, default=2, help="runs per measurement; the best is kept (default 2)")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="config override, e.g. privacy.every_n_frames=10 (repeatable)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="also time the whole `ophora-data privacy --overwrite` command on this run directory "
                             "against re-encoding its cut clips, start-up included; it redoes the run's privacy "
                             "stage, so use a scratch run such as the demo's")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                        help="folder for the JSON results (default: benchmarks/results)")
    args = parser.parse_args()
    config = resolve_config(None, None, args.sets)
    realdata = args.realdata if args.realdata.is_dir() else None
    results: dict[str, Any] = {"benchmark": "privacy", "privacy_config": config.privacy.model_dump(),
                               "repeats": args.repeats, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.part in ("all", "recall"):
        if realdata is None:
            print(f"no real fixtures at {args.realdata}: recall skipped")
        else:
            print("recall:")
            results["recall"] = recall(realdata, config.privacy)
    if args.part in ("all", "cost"):
        print("cost:")
        with tempfile.TemporaryDirectory(prefix="privacy-bench-") as tmp:
            results["cost"] = cost(make_clips(realdata, Path(tmp)), config, Path(tmp), args.repeats)
    if args.part == "command" and args.workdir is None:
        parser.error("--part command needs --workdir RUN (e.g. demo-run after ./scripts/demo.sh)")
    if args.workdir is not None:
        print(f"timing the whole command on {args.workdir}")
        results["run"] = run_directory(args.workdir, config, args.repeats)
    print_tables(results)
    write_results("privacy", results, args.out)


if __name__ == "__main__":
    main()
