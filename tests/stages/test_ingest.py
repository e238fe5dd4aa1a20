from __future__ import annotations

from pathlib import Path

from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages.ingest import IngestStage
from tests.conftest import MakeVideo, make_config


def ingest(run: RunDir, sources: list[str]):
    return run_stage(IngestStage(make_config(), run, sources), RunOptions(progress=False))


def test_real_list_gives_one_row_per_unique_video_and_rejected_rows(run_dir: RunDir, realdata: Path) -> None:
    listing = realdata / "text" / "video_pipeline_narrated_cataract_youtube_links.txt"
    result = ingest(run_dir, [str(listing)])
    rows = run_dir.table("ingest").all_rows()
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 37 and len({r["video_id"] for r in ok}) == 37
    assert {r["video_id"] for r in rows if r["status"] == "rejected"} and result.status_counts["rejected"] == 7
    assert next(r for r in ok if r["video_id"] == "OZ5SmpNFlU8")["duplicates"] == 1
    assert all(r["url"].startswith("https://www.youtube.com/watch?v=") for r in ok)
    # A second ingest of the same list adds nothing.
    assert ingest(run_dir, [str(listing)]).processed == 0


def test_local_files_get_content_hash_ids(run_dir: RunDir, make_video: MakeVideo, tmp_path: Path) -> None:
    video = make_video("case.mp4", duration=1.0)
    copy = tmp_path / "same_content.mp4"
    copy.write_bytes(video.read_bytes())
    ingest(run_dir, [str(video), str(copy)])
    rows = run_dir.table("ingest").all_rows()
    assert len(rows) == 1  # identical bytes collapse to one video
    assert rows[0]["video_id"].startswith("local-") and len(rows[0]["video_id"]) == len("local-") + 16
    assert rows[0]["duplicates"] == 1 and rows[0]["sha256"]


def test_cli_ingest_of_a_ts_file_and_of_junk_exits_0_with_rows(tmp_path: Path, make_video: MakeVideo) -> None:
    from typer.testing import CliRunner

    from cli import app

    ts = make_video("case.ts", duration=1.0, size="64x48", extra=["-f", "mpegts"])
    junk = tmp_path / "dump.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    workdir = tmp_path / "run"
    result = CliRunner().invoke(app, ["ingest", str(ts), str(junk), "-w", str(workdir), "--json"])
    assert result.exit_code == 0, result.output
    rows = {Path(r["raw"]).name: r for r in RunDir(workdir).table("ingest").all_rows()}
    assert rows["case.ts"]["status"] == "ok" and rows["case.ts"]["video_id"].startswith("local-")
    assert rows["dump.bin"]["status"] == "rejected"
    assert rows["dump.bin"]["reason"].startswith("neither a video nor a text list of sources")


def test_folder_scan_gives_a_ts_file_a_row(run_dir: RunDir, make_video: MakeVideo, tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    make_video("recordings/case.ts", duration=1.0, size="64x48", extra=["-f", "mpegts"])
    make_video("recordings/case.mp4", duration=1.0, size="64x48")
    ingest(run_dir, [str(folder)])
    names = sorted(Path(r["local_path"]).name for r in run_dir.table("ingest").all_rows())
    assert names == ["case.mp4", "case.ts"]


def test_widening_discovery_does_not_change_any_stage_hash() -> None:
    from ophora_data.stages.probe import ProbeStage
    from ophora_data.stages.registry import stage_config_hash

    base = make_config()
    wider = make_config("ingest.video_extensions=[.mp4, .xyz]", "ingest.probe_unknown=false",
                        "ingest.skip_extensions=[]")
    for stage in (IngestStage, ProbeStage):
        assert stage_config_hash(stage, wider) == stage_config_hash(stage, base)
    # What changes a row's content (the id scheme) does change the hash.
    assert stage_config_hash(IngestStage, make_config("ingest.local_id_prefix=vid-")) != stage_config_hash(
        IngestStage, base)
