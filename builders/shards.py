"""Deterministic WebDataset tar shards: same clips and bytes in, byte-identical tars out.

Members are written in a fixed order (clips in natural clip-id order; per clip `.json`,
`.mp4`, `.txt`) with fixed mtime/uid/gid/owner names/mode, so a rebuild of the same run
and config reproduces every shard and its checksum exactly.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ophora_data.run.atomic import atomic_write

FIXED_MTIME = 0  # like SOURCE_DATE_EPOCH=0 in reproducible builds
FILE_MODE = 0o644


@dataclass(frozen=True)
class Sample:
    """One WebDataset sample: `<key>.<ext>` members from bytes or from a file (streamed)."""

    key: str
    fields: dict[str, bytes | Path]

    @classmethod
    def clip(cls, key: str, video: Path, text: str, metadata: dict[str, Any]) -> Sample:
        return cls(key, {"json": json_bytes(metadata), "mp4": video, "txt": text.encode("utf-8")})

    @classmethod
    def record(cls, key: str, metadata: dict[str, Any]) -> Sample:
        return cls(key, {"json": json_bytes(metadata)})

    def members(self) -> list[tuple[str, bytes | Path]]:
        return sorted(self.fields.items())

    def size(self) -> int:
        return sum(v.stat().st_size if isinstance(v, Path) else len(v) for v in self.fields.values())


def json_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def shard_count(n_samples: int, total_bytes: int, target_bytes: int, multiple: int) -> int:
    """Enough shards for the target size; a multiple of `multiple` when there are enough samples.

    A count divisible by the number of GPUs lets `split_dataset_by_node` hand every rank
    whole shards in streaming mode.
    """
    if n_samples == 0:
        return 0
    count = max(1, math.ceil(total_bytes / target_bytes))
    if n_samples >= multiple > 1:
        count = math.ceil(count / multiple) * multiple
        while count > n_samples:
            count -= multiple
    return min(count, n_samples)


def split_samples(samples: Sequence[Sample], count: int) -> list[list[Sample]]:
    """Contiguous, count-balanced groups (clips are similar in size; order stays natural)."""
    base, extra = divmod(len(samples), count) if count else (0, 0)
    groups, start = [], 0
    for index in range(count):
        end = start + base + (1 if index < extra else 0)
        groups.append(list(samples[start:end]))
        start = end
    return groups


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, FIXED_MTIME, FILE_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_shard(path: Path, samples: Sequence[Sample], on_sample: Callable[[], None] | None = None) -> Path:
    def write(tmp: Path) -> None:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for sample in samples:
                for ext, content in sample.members():
                    name = f"{sample.key}.{ext}"
                    if isinstance(content, Path):
                        with open(content, "rb") as handle:
                            tar.addfile(_tar_info(name, content.stat().st_size), handle)
                    else:
                        tar.addfile(_tar_info(name, len(content)), io.BytesIO(content))
                if on_sample is not None:
                    on_sample()

    return atomic_write(path, write)


def write_shards(folder: Path, samples: Sequence[Sample], target_bytes: int, multiple: int,
                 label: str = "shards") -> list[Path]:
    """Write `folder/train-XXXXX.tar` shards; returns their paths in order."""
    count = shard_count(len(samples), sum(s.size() for s in samples), target_bytes, multiple)
    paths = []
    with tqdm(total=len(samples), desc=label, unit="clip", leave=False) as bar:
        for index, group in enumerate(split_samples(samples, count)):
            paths.append(write_shard(folder / f"train-{index:05d}.tar", group, lambda: bar.update(1)))
    return paths
