"""The Ray executor runs batches in Ray worker processes and gives the same rows as the local one.

One module-scoped local cluster. Its workers get this checkout on PYTHONPATH (so a copied tree, as the
mutation check uses, is what they import) and register the test-only PidStage on start-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from tests.conftest import MakeVideo, make_config

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_cluster() -> Iterator[None]:
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    runtime_env = {
        "env_vars": {"PYTHONPATH": path},
        "worker_process_setup_hook": "tests.executors.pid_stage.register",
    }
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
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


def test_batches_run_in_ray_worker_processes(run_dir: RunDir) -> None:
    from tests.executors.pid_stage import ITEMS, PidStage, registered

    workers = 2
    (run_dir.root / "rendezvous").write_text(str(workers))
    with registered():
        stage = PidStage(make_config("run.executor=ray", "run.flush_every=1"), run_dir)
        result = run_stage(stage, RunOptions(progress=False, workers=workers))
    rows = sorted(run_dir.table("pid_probe").current("video_id"), key=lambda r: r["value"])
    assert result.processed == ITEMS and [r["value"] for r in rows] == list(range(ITEMS))
    assert all(r["ray_worker"] is True for r in rows), "rows were not produced inside Ray worker processes"
    pids = {r["pid"] for r in rows}
    assert os.getpid() not in pids and os.getpid() not in {r["ppid"] for r in rows}  # not the driver or its pool
    assert len(pids) == workers  # one actor per worker, each took batches
