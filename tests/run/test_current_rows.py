"""Current rows resolved by DuckDB equal the previous Python resolution on generated runs.

Generated tables of a few thousand rows mix every tricky case: failed then ok, retryable and
permanent failures, `--overwrite` (a newer part for the same items), a changed config hash, one
work item writing many keys, a key that vanished from a newer part, rows without a key.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, done_keys, pending_items
from ophora_data.run.db import RunDB
from ophora_data.run.status import _pending
from ophora_data.run.tables import decode_arrow
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Stage
from ophora_data.stages.registry import get_stage, stage_config_hash
from tests.conftest import make_config
from tests.run import legacy

Row = dict[str, Any]
QUALITY_CHECKS = ("width", "height", "duration_s")


def _segment_part(rng: random.Random, videos: list[str], config_hash: str) -> list[Row]:
    """One commit of `segment`: some videos, each writing a random number of clips (or failing)."""
    rows: list[Row] = []
    for video in rng.sample(videos, rng.randint(1, len(videos))):
        outcome = rng.random()
        if outcome < 0.15:  # a failed video: no clip ids at all
            rows.append({"video_id": video, "clip_id": None, "status": "failed", "reason": "TranscriptError: bad",
                         "retryable": rng.choice([True, False, None])})
            continue
        for n in range(rng.randint(1, 6)):  # fewer clips than before = keys vanish
            rows.append({"video_id": video, "clip_id": f"{video}_{n}", "status": rng.choice(["ok", "ok", "rejected"]),
                         "reason": "", "start": float(n), "end": n + 2.5, "narration": f"words {n}",
                         "deid_counts": {"NAME": rng.randint(0, 2)} if rng.random() < 0.5 else None})
    return [{**row, "config_hash": config_hash, "updated_at": "t"} for row in rows]


def _quality_part(rng: random.Random, clips: list[str], config_hash: str) -> list[Row]:
    rows: list[Row] = []
    for clip in rng.sample(clips, rng.randint(1, len(clips))):
        if rng.random() < 0.1:
            rows.append({"clip_id": clip, "video_id": clip.rsplit("_", 1)[0], "status": "failed",
                         "reason": "MediaError: x", "retryable": rng.choice([True, False])})
            continue
        for check in QUALITY_CHECKS:
            value = rng.choice([rng.uniform(100, 2000), float("nan"), None])
            rows.append({"clip_id": clip, "video_id": clip.rsplit("_", 1)[0], "status": rng.choice(["ok", "rejected"]),
                         "reason": "", "check": check, "value": value, "passed": rng.choice([True, False, None]),
                         "op": ">=", "threshold": 720.0})
    return [{**row, "config_hash": config_hash, "updated_at": "t"} for row in rows]


def generated_run(root: Path, seed: int, config: Config) -> RunDir:
    """Segment and quality tables of a few thousand rows, under the current hash and an old one."""
    rng = random.Random(seed)
    run = RunDir(root).create()
    run.save_config(config)
    videos = [f"vid{seed}{i:03d}" for i in range(60)]
    hashes = {stage: stage_config_hash(get_stage(stage), config) for stage in ("segment", "quality")}
    for _ in range(8):
        h = hashes["segment"] if rng.random() < 0.8 else "oldhash00000"
        run.table("segment").append(_segment_part(rng, videos, h))
    clips = [f"{v}_{n}" for v in videos for n in range(4)]
    for _ in range(8):
        h = hashes["quality"] if rng.random() < 0.8 else "oldhash00000"
        run.table("quality").append(_quality_part(rng, clips, h))
    return run


def _comparable(rows: list[Row]) -> list[tuple]:
    """Rows as sortable tuples (NaN made comparable, None and missing columns alike)."""
    def norm(value: Any) -> Any:
        if isinstance(value, float) and value != value:
            return "NaN"
        return repr(value)
    return sorted(tuple(sorted((k, norm(v)) for k, v in row.items() if v is not None)) for row in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_current_rows_equal_the_python_resolution(tmp_path: Path, seed: int) -> None:
    config = make_config()
    run = generated_run(tmp_path / "run", seed, config)
    db = RunDB(run, config)
    for stage in ("segment", "quality"):
        cls = get_stage(stage)
        expected = legacy.current(legacy.all_rows(run.table(stage).dir), cls.work_key(), db.config_hash(stage))
        assert len(expected) > 100
        assert _comparable(run.table(stage).current(cls.work_key(), db.config_hash(stage))) == _comparable(expected)
        assert _comparable(decode_arrow(db.current(stage))) == _comparable(expected)
        # The join with a materialized newest-part map (status, run) gives the same rows.
        joined = RunDB(run, config, materialize=True)
        assert _comparable(decode_arrow(joined.current(stage))) == _comparable(expected)
        every = legacy.all_rows(run.table(stage).dir)
        assert _comparable(run.table(stage).all_rows()) == _comparable(every)


@pytest.mark.parametrize("retry_failed", [False, True])
def test_pending_items_equal_the_python_rules(tmp_path: Path, retry_failed: bool) -> None:
    config = make_config()
    run = generated_run(tmp_path / "run", 7, config)
    stage = get_stage("segment")(config, run)
    h = stage_config_hash(type(stage), config)
    current = legacy.current(legacy.all_rows(run.table("segment").dir), "video_id", h)
    options = RunOptions(retry_failed=retry_failed)
    expected = legacy.done_keys(current, "video_id", retry_failed)
    assert done_keys(stage, h, options) == expected
    # Items as Arrow (the per-clip stages' form) and as dicts give the same pending items.
    items = [{"video_id": f"vid7{i:03d}"} for i in range(70)]
    stage.items = lambda: items  # type: ignore[method-assign]
    pending, done = pending_items(stage, h, options)
    assert [i["video_id"] for i in pending] == [i["video_id"] for i in items if i["video_id"] not in expected]
    stage.items = lambda: pa.Table.from_pylist(items)  # type: ignore[method-assign]
    table, done_arrow = pending_items(stage, h, options)
    assert table.column("video_id").to_pylist() == [i["video_id"] for i in pending] and done_arrow == done
    assert pending_items(stage, h, RunOptions(overwrite=True))[1] == 0


@pytest.mark.parametrize("sets", [(), ("quality.width.min=1000",), ("quality.height.max=900", "quality.width.min=5")])
def test_upstream_ok_rejudges_checks_like_the_python_rule(tmp_path: Path, sets: tuple[str, ...]) -> None:
    config = make_config(*sets)
    run = generated_run(tmp_path / "run", 11, config)
    stage = Stage(config, run)
    h = stage_config_hash(get_stage("quality"), config)
    current = legacy.current(legacy.all_rows(run.table("quality").dir), "clip_id", h)
    expected = legacy.upstream_ok(current, "quality", "clip_id", config)
    got = stage.upstream_ok("quality")
    assert [r["clip_id"] for r in got] == [r["clip_id"] for r in expected]
    materialized = Stage(config, run).share_db(RunDB(run, config, materialize=True)).upstream_ok("quality")
    assert [r["clip_id"] for r in materialized] == [r["clip_id"] for r in expected]
    assert _comparable([{k: v for k, v in r.items() if k != "_row"} for r in got]) == \
        _comparable([{k: v for k, v in r.items() if k != "_row"} for r in expected])
    narrow = stage.upstream_ok("quality", ["clip_id", "no_such_column"])
    assert narrow == [{"clip_id": r["clip_id"], "no_such_column": None} for r in expected]


@pytest.mark.parametrize("materialize", [False, True])
def test_started_work_items_and_status_pending_equal_the_python_rules(tmp_path: Path, materialize: bool) -> None:
    config = make_config()
    run = generated_run(tmp_path / "run", 5, config)
    db = RunDB(run, config, materialize=materialize)
    for stage in ("segment", "quality"):
        cls = get_stage(stage)
        current = legacy.current(legacy.all_rows(run.table(stage).dir), cls.work_key(), db.config_hash(stage))
        expected = {r[cls.work_key()] for r in current if r.get(cls.work_key()) is not None}
        assert expected and {row[0] for row in db.execute(db.started_sql(stage)).fetchall()} == expected
    # `status` counts pending items against those work items (dict items: no items query).
    stage = get_stage("segment")(config, run)
    items = [{"video_id": f"vid5{i:03d}"} for i in range(70)]
    stage.items_sql = lambda: None  # type: ignore[method-assign]
    stage.items = lambda: items  # type: ignore[method-assign]
    current = legacy.current(legacy.all_rows(run.table("segment").dir), "video_id", db.config_hash("segment"))
    started = {r["video_id"] for r in current}
    assert _pending(stage.share_db(db), db) == sum(1 for i in items if i["video_id"] not in started) > 0
