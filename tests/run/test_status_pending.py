"""`status` counts pending items from each stage's work keys (`work_keys_sql`), not from its items.

The keys query is a cheaper copy of the items query (at 160K clips a tenth of its cost), so the
two must agree for every stage, on a run where upstream rows are rejected, missing or failed.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from ophora_data.config import Config
from ophora_data.run.db import RunDB
from ophora_data.run.status import _pending
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import get_stage, stage_names
from tests.audit.fakerun import Clip, build_run, standard_clips, write_rows
from tests.conftest import make_config


def mixed_run(root: Path, config: Config) -> RunDir:
    """The audit tests' standard clips plus sources and videos that some stages must leave out:
    a URL source not downloaded (no probe item), one downloaded (an item), a video whose probe
    was rejected (its ok windows are no cut items) and one whose transcript failed."""
    run = RunDir(root).create()
    clips = [*standard_clips(), Clip("vidC_0", video_id="vidC", cut=False, quality=None, score=None, privacy=None)]
    build_run(run, config, clips)
    write_rows(run, config, "ingest", [
        {"video_id": "vidD", "status": "ok", "reason": "", "source_kind": "url", "url": "https://x/d.mp4"},
        {"video_id": "vidE", "status": "ok", "reason": "", "source_kind": "url", "url": "https://x/e.mp4"}])
    run.raw_video("vidD").parent.mkdir(parents=True, exist_ok=True)
    run.raw_video("vidD").write_bytes(b"downloaded")
    write_rows(run, config, "probe", [{"video_id": "vidC", "status": "rejected", "reason": "no video stream"}])
    write_rows(run, config, "transcribe", [
        {"video_id": v, "status": "ok", "reason": "", "transcript_path": f"transcripts/{v}.json"}
        for v in ("vidA", "vidB")] + [{"video_id": "vidC", "status": "failed", "reason": "TranscriptError: x"}])
    return run


@pytest.mark.parametrize("materialize", [False, True])
@pytest.mark.parametrize("overrides", [(), ("quality.width.min=1300", "caption.confidence.min=0.95")])
def test_work_keys_are_the_items_keys_for_every_stage(tmp_path: Path, materialize: bool,
                                                      overrides: tuple[str, ...]) -> None:
    config = make_config(*overrides)
    run = mixed_run(tmp_path / "run", config)
    db = RunDB(run, config, materialize=materialize)
    pending_somewhere = 0
    for name in stage_names():
        cls = get_stage(name)
        if not cls.needs:
            continue
        stage = cls(config, run).share_db(db)
        items = stage.items()
        key = cls.work_key()
        keys = items.column(key).to_pylist() if isinstance(items, pa.Table) else [i[key] for i in items]
        sql = stage.work_keys_sql()
        assert sql is not None, f"{name}: status would build its items to count them"
        assert sorted(db.execute(sql).fetchall()) == sorted((k,) for k in keys), name
        started = {row[0] for row in db.execute(db.started_sql(name)).fetchall()}
        expected = sum(1 for k in keys if k not in started)
        assert _pending(stage, db) == expected, name
        pending_somewhere += expected
    assert pending_somewhere >= 4  # the run leaves work in several stages: the comparison is not vacuous


def test_the_mixed_run_exercises_what_the_keys_leave_out(tmp_path: Path) -> None:
    """Guards the fixture: without these cases a keys query that forgot a rule would still agree."""
    config = make_config()
    run = mixed_run(tmp_path / "run", config)
    db = RunDB(run, config)
    probe = {i["video_id"] for i in get_stage("probe")(config, run).share_db(db).item_rows()}
    assert "vidD" in probe and "vidE" not in probe and "vidA" in probe
    cut = {i["clip_id"] for i in get_stage("cut")(config, run).share_db(db).item_rows()}
    segment_ok = {r["clip_id"] for r in db.ok_first_rows("segment", ["clip_id"]).to_pylist()}
    assert "vidC_0" in segment_ok and "vidC_0" not in cut
    score = {i["clip_id"] for i in get_stage("score")(config, run).share_db(db).item_rows()}
    cut_ok = {r["clip_id"] for r in db.ok_first_rows("cut", ["clip_id"]).to_pylist()}
    assert "vidB_0" in cut_ok and "vidB_0" not in score  # its caption was rejected
