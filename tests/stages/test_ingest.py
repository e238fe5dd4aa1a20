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
