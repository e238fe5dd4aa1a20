"""`export-trainer`: the layout CogVideoX fine-tuning scripts and finetrainers read.

    OUT/videos/<clip_id>.mp4   one clip per sample
    OUT/videos.txt             `videos/<clip_id>.mp4`, one per line
    OUT/prompts.txt            the instruction on the same line number

Clips come from a built release (already redacted, verified and de-identified), in shard
order. With `reencode`, each clip is scaled and center-cropped to the training size and
resampled to exactly `frames` frames at `fps` (short clips repeat their last frame), which
is what CogVideoX-2b trains on (480x720, 49 frames, 8 fps). Resumable: `export.json`
records the options; a rerun with the same options skips clips already written.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from builders.layout import MANIFEST_FILE
from ophora_data.media.runner import MediaError, run_tool
from ophora_data.run.atomic import atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text

EXPORT_MANIFEST = "export.json"
Echo = Callable[[str], None]


class ExportError(RuntimeError):
    """The export cannot run (no release, conflicting earlier export, ffmpeg failure)."""


@dataclass(frozen=True)
class ExportOptions:
    subset: str = "default"
    reencode: bool = False
    height: int = 480
    width: int = 720
    frames: int = 49
    fps: int = 8
    crf: int = 18


@dataclass
class ExportResult:
    out_dir: Path
    count: int
    written: int
    skipped: int


def read_manifest(release_dir: Path, subset: str) -> dict:
    """The release's manifest; raises unless `subset` is one of its media configs."""
    manifest_path = release_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ExportError(f"{release_dir} is not a built release: run `ophora-data build` first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    media = sorted(name for name in manifest["configs"] if name != "audit")
    if subset not in media:
        raise ExportError(f"release has no media config {subset!r}; choose one of {', '.join(media)}")
    return manifest


def iter_release(release_dir: Path, subset: str) -> Iterator[tuple[str, bytes, str]]:
    """(clip_id, mp4 bytes, instruction) in shard order, from the release's own manifest."""
    for shard in read_manifest(release_dir, subset)["configs"][subset]["files"]:
        sample: dict[str, bytes] = {}
        key = None
        with tarfile.open(release_dir / shard) as tar:
            for member in tar:
                name, _, ext = member.name.partition(".")
                if key is not None and name != key:
                    yield _pair(key, sample)
                    sample = {}
                key = name
                handle = tar.extractfile(member)
                if handle is not None:
                    sample[ext] = handle.read()
        if key is not None:
            yield _pair(key, sample)


def _pair(key: str, sample: dict[str, bytes]) -> tuple[str, bytes, str]:
    if "mp4" not in sample or "txt" not in sample:
        raise ExportError(f"sample {key} lacks mp4 or txt")
    # One prompt per line: newlines inside an instruction would shift every later pair.
    return key, sample["mp4"], " ".join(sample["txt"].decode("utf-8").split())


def reencode_argv(src: Path, dst: Path, opts: ExportOptions) -> list[str]:
    chain = (f"fps={opts.fps},scale={opts.width}:{opts.height}:force_original_aspect_ratio=increase,"
             f"crop={opts.width}:{opts.height},setsar=1,tpad=stop_mode=clone:stop={opts.frames}")
    return ["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), "-an", "-vf", chain,
            "-frames:v", str(opts.frames), "-c:v", "libx264", "-preset", "veryfast", "-crf", str(opts.crf),
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(dst)]


def _write_clip(data: bytes, target: Path, opts: ExportOptions) -> None:
    if not opts.reencode:
        atomic_write_bytes(target, data)
        return
    with tempfile.TemporaryDirectory(prefix="ophora-export-") as tmp:
        src = Path(tmp) / "in.mp4"
        src.write_bytes(data)
        try:
            atomic_write(target, lambda out: run_tool(reencode_argv(src, out, opts)))
        except MediaError as exc:
            raise ExportError(f"re-encoding {target.stem} failed: {exc}") from exc


def _prepare(out_dir: Path, opts: ExportOptions, decision_set_id: str, overwrite: bool) -> None:
    wanted = {"decision_set_id": decision_set_id, **asdict(opts)}
    path = out_dir / EXPORT_MANIFEST
    if path.is_file():
        if json.loads(path.read_text(encoding="utf-8")) == wanted and not overwrite:
            return  # same export: resume
        if not overwrite:
            raise ExportError(f"{out_dir} holds an export with other options or release; pass --overwrite")
        shutil.rmtree(out_dir / "videos", ignore_errors=True)
    elif out_dir.exists() and any(out_dir.iterdir()):
        raise ExportError(f"{out_dir} is not empty and holds no export; choose an empty folder")
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, wanted)


def export_trainer(release_dir: Path, out_dir: Path, opts: ExportOptions = ExportOptions(), *,
                   workers: int = 1, overwrite: bool = False, echo: Echo | None = None) -> ExportResult:
    say = echo or (lambda _message: None)
    decision_set_id = str(read_manifest(release_dir, opts.subset)["decision_set_id"])
    _prepare(out_dir, opts, decision_set_id, overwrite)
    keys: list[str] = []
    prompts: list[str] = []
    written = skipped = 0
    workers = max(1, workers)
    # A bounded window of clips in flight: a release can be far larger than memory.
    pending: deque[Future[None]] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(desc="export", unit="clip") as bar:
        for key, data, prompt in iter_release(release_dir, opts.subset):
            keys.append(key)
            prompts.append(prompt)
            target = out_dir / "videos" / f"{key}.mp4"
            if target.is_file():
                skipped += 1
                bar.update(1)
                continue
            pending.append(pool.submit(_write_clip, data, target, opts))
            written += 1
            while len(pending) >= 2 * workers:
                pending.popleft().result()  # re-raises a failure
                bar.update(1)
        while pending:
            pending.popleft().result()
            bar.update(1)
    atomic_write_text(out_dir / "videos.txt", "".join(f"videos/{k}.mp4\n" for k in keys))
    atomic_write_text(out_dir / "prompts.txt", "".join(f"{p}\n" for p in prompts))
    say(f"export: {len(keys)} clips in {out_dir} ({written} written, {skipped} already there)")
    return ExportResult(out_dir, len(keys), written, skipped)
