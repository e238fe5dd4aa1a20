"""The Ray executor gives the same rows as the local one (one module-scoped local cluster)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from tests.conftest import MakeVideo, make_config

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_probe_on_ray_matches_local(tmp_path, make_video: MakeVideo) -> None:
    videos = [str(make_video(f"v{i}.mp4", duration=1.0 + i)) for i in range(3)]
    (tmp_path / "broken.mp4").write_text("not a video")
    results = {}
    for executor in ("local", "ray"):
        run = RunDir(tmp_path / executor).create()
        config = make_config(f"run.executor={executor}", "run.flush_every=1")
        run_stage(IngestStage(config, run, [*videos, str(tmp_path / "broken.mp4")]), RunOptions(progress=False))
        run_stage(ProbeStage(config, run), RunOptions(progress=False, workers=2))
        rows = run.table("probe").current("video_id")
        results[executor] = sorted((r["video_id"], r["status"], r.get("duration_s"), r["reason"]) for r in rows)
    assert results["ray"] == results["local"]
    assert [status for _, status, _, _ in results["ray"]].count("failed") == 1
