from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Row, Stage
from ophora_data.stages.registry import stage_config_hash
from tests.conftest import make_config


class CountingStage(Stage):
    """A stage over fixed items whose behaviour per item the test controls."""

    name: ClassVar[str] = "counting"
    config_sections: ClassVar[tuple[str, ...]] = ("probe",)
    parallel: ClassVar[bool] = False

    def __init__(self, config: Config, run: RunDir, behaviour: dict[str, str] | None = None) -> None:
        super().__init__(config, run)
        self.behaviour = behaviour or {}
        self.seen: list[str] = []

    def items(self) -> list[Row]:
        return [{"video_id": f"v{i}"} for i in range(6)]

    def process(self, item: Row) -> list[Row]:
        video_id = item["video_id"]
        self.seen.append(video_id)
        action = self.behaviour.get(video_id)
        if action == "crash":
            raise KeyboardInterrupt  # a kill, not an item error: stops the run
        if action == "error":
            raise ValueError(f"bad input in {video_id}")
        if action == "permanent":
            return [{"status": "failed", "reason": "gone for good", "retryable": False}]
        return [{"status": "ok", "reason": "", "value": int(video_id[1:]) * 10}]


def rows_of(run: RunDir, config: Config) -> list[tuple]:
    current = run.table("counting").current("video_id", stage_config_hash(CountingStage, config))
    return sorted((r["video_id"], r["status"], r.get("value")) for r in current)


def small_flush() -> Config:
    return make_config("run.flush_every=1")


def test_resume_after_crash_between_data_and_marker_equals_clean_run(run_dir: RunDir, tmp_path) -> None:
    config = small_flush()
    with pytest.raises(KeyboardInterrupt):
        run_stage(CountingStage(config, run_dir, {"v3": "crash"}), RunOptions(progress=False))
    config_hash = stage_config_hash(CountingStage, config)
    assert run_dir.table("counting").marker(config_hash) is None  # crashed before the marker
    resumed = CountingStage(config, run_dir)
    run_stage(resumed, RunOptions(progress=False))
    assert resumed.seen == ["v3", "v4", "v5"]  # only what had no committed row
    clean = RunDir(tmp_path / "clean").create()
    run_stage(CountingStage(config, clean), RunOptions(progress=False))
    assert rows_of(run_dir, config) == rows_of(clean, config)
    assert run_dir.table("counting").marker(config_hash)["counts"]["ok"] == 3


def test_config_hash_change_reprocesses_everything(run_dir: RunDir) -> None:
    run_stage(CountingStage(small_flush(), run_dir), RunOptions(progress=False))
    again = CountingStage(small_flush(), run_dir)
    run_stage(again, RunOptions(progress=False))
    assert again.seen == []
    changed = CountingStage(make_config("run.flush_every=1", "probe.timeout_s=5"), run_dir)
    run_stage(changed, RunOptions(progress=False))
    assert len(changed.seen) == 6


def test_item_errors_become_failed_rows_and_are_retried(run_dir: RunDir) -> None:
    config = small_flush()
    result = run_stage(CountingStage(config, run_dir, {"v1": "error"}), RunOptions(progress=False))
    assert result.status_counts["failed"] == 1 and result.status_counts["ok"] == 5
    failed = [r for r in run_dir.table("counting").all_rows() if r["status"] == "failed"][0]
    assert failed["error_type"] == "ValueError" and "bad input in v1" in failed["reason"]
    retry = CountingStage(config, run_dir)
    run_stage(retry, RunOptions(progress=False))
    assert retry.seen == ["v1"]
    assert ("v1", "ok", 10) in rows_of(run_dir, config)


def test_permanent_failures_wait_for_retry_failed(run_dir: RunDir) -> None:
    config = small_flush()
    run_stage(CountingStage(config, run_dir, {"v2": "permanent"}), RunOptions(progress=False))
    plain = CountingStage(config, run_dir)
    run_stage(plain, RunOptions(progress=False))
    assert plain.seen == []
    forced = CountingStage(config, run_dir)
    run_stage(forced, RunOptions(progress=False, retry_failed=True))
    assert forced.seen == ["v2"]


def test_overwrite_and_limit(run_dir: RunDir) -> None:
    config = small_flush()
    limited = CountingStage(config, run_dir)
    run_stage(limited, RunOptions(progress=False, limit=2))
    assert limited.seen == ["v0", "v1"]
    rest = CountingStage(config, run_dir)
    run_stage(rest, RunOptions(progress=False))
    assert rest.seen == ["v2", "v3", "v4", "v5"]
    everything = CountingStage(config, run_dir)
    run_stage(everything, RunOptions(progress=False, overwrite=True))
    assert len(everything.seen) == 6


def test_secrets_in_errors_are_redacted(run_dir: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value-123456")

    class Leaky(CountingStage):
        def process(self, item: Row) -> list[Row]:
            raise RuntimeError("auth failed for key sk-test-secret-value-123456")

    run_stage(Leaky(small_flush(), run_dir), RunOptions(progress=False))
    for part in run_dir.table("counting").parts():
        assert b"sk-test-secret-value-123456" not in part.read_bytes()


def test_process_pool_runs_batches_in_several_worker_processes(run_dir: RunDir) -> None:
    from tests.executors.pid_stage import ITEMS, PidStage, registered

    workers = 2
    (run_dir.root / "rendezvous").write_text(str(workers))
    with registered():
        stage = PidStage(make_config("run.flush_every=1"), run_dir)
        assert ITEMS // PidStage.batch_size > workers  # more batches than workers: the pool path, not serial
        result = run_stage(stage, RunOptions(progress=False, workers=workers))
    rows = sorted(run_dir.table("pid_probe").current("video_id"), key=lambda r: r["value"])
    assert result.processed == ITEMS and [r["value"] for r in rows] == list(range(ITEMS))
    pids = {r["pid"] for r in rows}
    assert os.getpid() not in pids, "batches ran in the driver, not in pool workers"
    assert len(pids) == workers, f"expected {workers} worker processes, saw pids {sorted(pids)}"
    # Workers start from the pool's fork server (a fresh interpreter the driver started), never as
    # forks of the driver: a fork would copy locks held by the driver's threads (onnxruntime, OpenMP).
    [server] = {r["ppid"] for r in rows}
    assert server != os.getpid()
    assert Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(os.getpid())


def test_one_worker_runs_in_the_driver(run_dir: RunDir) -> None:
    from tests.executors.pid_stage import PidStage, registered

    with registered():
        run_stage(PidStage(make_config(), run_dir), RunOptions(progress=False, workers=1))
    assert {r["pid"] for r in run_dir.table("pid_probe").current("video_id")} == {os.getpid()}
