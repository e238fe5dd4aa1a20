"""Shard planning and per-record normalisation (pure functions)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from builders.records import normalize_attributes, normalize_values
from builders.shards import Sample, shard_count, split_samples, write_shard


@pytest.mark.parametrize(("samples", "total", "target", "multiple", "expected"), [
    (0, 0, 100, 8, 0),
    (3, 10, 100, 8, 1),  # too few clips to round up to 8: one shard
    (100, 150, 100, 8, 8),  # 2 by size, rounded up to the GPU multiple
    (100, 1700, 100, 8, 24),  # 17 by size -> 24
    (12, 1700, 100, 8, 8),  # never more shards than clips: the largest multiple that fits
    (5, 1700, 100, 1, 5),
])
def test_shard_count(samples: int, total: int, target: int, multiple: int, expected: int) -> None:
    assert shard_count(samples, total, target, multiple) == expected


def test_split_is_contiguous_and_balanced(tmp_path: Path) -> None:
    samples = [Sample.record(f"v_{i}", {"i": i}) for i in range(10)]
    groups = split_samples(samples, 4)
    assert [len(g) for g in groups] == [3, 3, 2, 2]
    assert [s.key for g in groups for s in g] == [s.key for s in samples]


def test_write_shard_is_deterministic(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00fake mp4 bytes")
    sample = Sample.clip("vid_1", video, "Do the thing.", {"b": 1, "a": [1, 2]})
    first = write_shard(tmp_path / "a.tar", [sample]).read_bytes()
    assert write_shard(tmp_path / "b.tar", [sample]).read_bytes() == first
    with tarfile.open(tmp_path / "a.tar") as tar:
        assert tar.getnames() == ["vid_1.json", "vid_1.mp4", "vid_1.txt"]
        assert json.loads(tar.extractfile("vid_1.json").read()) == {"a": [1, 2], "b": 1}  # type: ignore[union-attr]


def test_attributes_share_keys_and_mixed_types_become_json_text() -> None:
    rows = normalize_attributes([{"phase": "incision", "tools": ["keratome"]}, {"phase": "rhexis", "tools": "forceps"},
                                 {}])
    assert rows[0] == {"phase": "incision", "tools": '["keratome"]'}
    assert rows[1] == {"phase": "rhexis", "tools": '"forceps"'}
    assert rows[2] == {"phase": None, "tools": None}
    assert normalize_attributes([{}, {}]) == [None, None]
    assert normalize_values([{"a": 1}, {"b": 0.5}]) == [{"a": 1.0, "b": None}, {"a": None, "b": 0.5}]
