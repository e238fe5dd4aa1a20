"""A minimal Hub-style release (WebDataset shards + README configs) made by a test, for readers of releases."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from tests.conftest import generate_video

README = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.tar
- config_name: strict
  data_files:
  - split: train
    path: strict/*.tar
---
# tiny test release
"""


def tiny_clip(path: Path, seconds: float = 2.0, size: str = "48x32", fps: int = 8) -> bytes:
    return generate_video(path, seconds, size, fps, audio=False).read_bytes()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_tiny_release(folder: Path, prompts: list[str], strict: set[int] | None = None) -> Path:
    """Clips `clip_<i>` with the given instructions; `strict` indexes also go into the strict config."""
    folder.mkdir(parents=True, exist_ok=True)
    strict = strict if strict is not None else {0}
    media = folder / ".media"
    media.mkdir(exist_ok=True)
    clips = {i: tiny_clip(media / f"{i}.mp4") for i in range(len(prompts))}
    for config, indexes in (("data", range(len(prompts))), ("strict", sorted(strict))):
        (folder / config).mkdir(exist_ok=True)
        with tarfile.open(folder / config / "train-00000.tar", "w") as tar:
            for i in indexes:
                key = f"clip_{i}"
                _add(tar, f"{key}.mp4", clips[i])
                _add(tar, f"{key}.txt", prompts[i].encode())
                _add(tar, f"{key}.json", json.dumps({"clip_id": key}).encode())
    (folder / "README.md").write_text(README)
    return folder
