"""`ophora-data reproduce` end to end: a `--no-media` release re-made from sources served over HTTP.

Unchanged or re-encoded sources: every clip verified, same ids, instructions and frame counts.
Trimmed, edited or missing sources: every affected clip flagged with its reason, no false match.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from ophora_data.reproduce.release import current_reproduce_rows
from ophora_data.run.tables import group_by
from ophora_data.run.workdir import RunDir
from tests.helpers.http_server import FileServer
from tests.reproduce.releasefactory import (
    INSTRUCTIONS,
    REPLACED,
    MadeRelease,
    clips_overlapping,
    reencoded,
    scene_replaced,
    trimmed,
)

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
runner = CliRunner()


def reproduce(made: MadeRelease, source: Path | None, workdir: Path, *extra: str) -> dict:
    """Serve `source` (None: nothing, the URL answers 404), reproduce, return status + rows per clip."""
    with FileServer() as server:
        url = server.add("/case.mp4", source) if source is not None else server.url("/case.mp4")
        sources = workdir.parent / f"{workdir.name}-sources.csv"
        sources.write_text(f"video_id,url\n{made.video_id},{url}\n")
        result = runner.invoke(app, ["reproduce", str(made.folder), "-w", str(workdir), "--sources", str(sources),
                                     "--workers", "2", "--set", "download.retries=0", *extra])
    assert result.exit_code == 0, result.output
    status = json.loads(runner.invoke(app, ["status", "-w", str(workdir), "--json"]).output)
    run = RunDir(workdir)
    rows = group_by(current_reproduce_rows(run, run.load_config()), "clip_id")
    return {"output": result.output, "status": status, "rows": rows}


def flagged(outcome: dict) -> dict[str, set[str]]:
    return {clip: {r["reason"] for r in rows if r["status"] != "ok"}
            for clip, rows in outcome["rows"].items() if any(r["status"] != "ok" for r in rows)}


def test_unchanged_source_reproduces_every_clip_exactly(made: MadeRelease, tmp_path: Path) -> None:
    from datasets import load_dataset

    outcome = reproduce(made, made.source, tmp_path / "w")
    assert outcome["status"]["reproduce"]["ok"] == 5 and flagged(outcome) == {}
    assert outcome["status"]["reproduce"]["extras"] == {"verified": 5}
    assert all(r["verdict"] == "verified" for rows in outcome["rows"].values() for r in rows)
    release = tmp_path / "w" / "release"
    records = {r["__key__"]: r for r in load_dataset(str(release), "default", split="train")}
    original = {r["__key__"]: r for r in load_dataset(str(made.folder), "manifest", split="train")}
    assert sorted(records) == sorted(made.clip_ids) == sorted(original)
    for index, clip_id in enumerate(made.clip_ids):
        assert records[clip_id]["txt"] == INSTRUCTIONS[index]
        assert records[clip_id]["mp4"].metadata.num_frames == original[clip_id]["json"]["clip"]["frames"]
    again = load_dataset(str(release), "manifest", split="train")  # the reproduced release is reproducible
    assert sorted(again["__key__"]) == sorted(made.clip_ids)
    assert json.loads((release / "release.json").read_text())["reproduced_from"]["verified"] == 5
    # A rerun resumes: nothing is re-made.
    rerun = reproduce(made, made.source, tmp_path / "w")
    assert "reproduce: processed 0" in rerun["output"]


def test_reencoded_source_still_verifies_every_clip(made: MadeRelease, tmp_path: Path) -> None:
    outcome = reproduce(made, reencoded(made.source, tmp_path / "re.mp4"), tmp_path / "w", "--no-build")
    assert outcome["status"]["reproduce"]["ok"] == 5 and flagged(outcome) == {}
    values = [r["value"] for rows in outcome["rows"].values() for r in rows if r.get("check") == "luma_difference"]
    assert max(values) > 0  # really another encode, still within the bound
    assert not (tmp_path / "w" / "release").exists()


def test_trimmed_source_flags_every_clip_as_shifted(made: MadeRelease, tmp_path: Path) -> None:
    outcome = reproduce(made, trimmed(made.source, tmp_path / "trim.mp4"), tmp_path / "w")
    reasons = flagged(outcome)
    assert set(reasons) == set(made.clip_ids)
    for clip_reasons in reasons.values():
        assert all(r.startswith("source shifted: the clip's frames now start 1.000 s earlier") for r in clip_reasons)
    assert outcome["status"]["reproduce"]["extras"] == {"shifted": 5}
    assert "none of 5 clips was verified" in outcome["output"]


def test_replaced_scene_flags_exactly_the_overlapping_clips(made: MadeRelease, tmp_path: Path) -> None:
    from datasets import load_dataset

    outcome = reproduce(made, scene_replaced(made.source, tmp_path / "edit.mp4"), tmp_path / "w")
    expected = {made.clip_ids[i] for i in clips_overlapping(REPLACED)}
    reasons = flagged(outcome)
    assert set(reasons) == expected and len(expected) == 2
    for clip_reasons in reasons.values():
        assert all(r.startswith("content differs in frames ") for r in clip_reasons)
    # The edit covers only the last frame of clip 1 and the first 0.6 s of clip 2: each reason names where.
    assert all(r.startswith("content differs in frames 32 of 33") for r in reasons[made.clip_ids[1]])
    assert all(r.startswith("content differs in frames 0-7 of ") for r in reasons[made.clip_ids[2]])
    audit = load_dataset(str(tmp_path / "w" / "release"), "audit", split="train").flatten()
    decisions = dict(zip(audit["__key__"], audit["json.decision"], strict=True))
    assert {k for k, d in decisions.items() if d == "rejected"} == expected
    kept = load_dataset(str(tmp_path / "w" / "release"), "default", split="train")
    assert sorted(kept["__key__"]) == sorted(set(made.clip_ids) - expected)


def test_missing_source_gives_failed_rows_with_the_reason(made: MadeRelease, tmp_path: Path) -> None:
    outcome = reproduce(made, None, tmp_path / "w")
    info = outcome["status"]["reproduce"]
    assert info["failed"] == 5 and info["ok"] == 0
    assert all(reason.startswith("source unavailable: download failed") for reason in info["reasons"])
    assert outcome["status"]["download"]["failed"] == 1
    assert not (tmp_path / "w" / "release").exists()


def test_local_source_needs_a_location(made: MadeRelease, tmp_path: Path) -> None:
    # The release was built from a local file: it publishes no URL, so without --sources nothing is made.
    result = runner.invoke(app, ["reproduce", str(made.folder), "-w", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    status = json.loads(runner.invoke(app, ["status", "-w", str(tmp_path / "w"), "--json"]).output)
    assert status["reproduce"]["failed"] == 5
    assert any("no source location" in reason for reason in status["reproduce"]["reasons"])
    # Giving the file's path (relative to the sources file) then makes every clip.
    sources = tmp_path / "sources.csv"
    sources.write_text(f"video_id,path\n{made.video_id},{made.source}\n")
    again = runner.invoke(app, ["reproduce", str(made.folder), "-w", str(tmp_path / "w"), "--sources", str(sources),
                                "--no-build"])
    assert again.exit_code == 0, again.output
    status = json.loads(runner.invoke(app, ["status", "-w", str(tmp_path / "w"), "--json"]).output)
    assert status["reproduce"]["ok"] == 5


def test_bad_arguments_are_usage_errors(made: MadeRelease, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["reproduce", str(tmp_path / "nothing-here"), "-w", str(tmp_path / "w")])
    assert missing.exit_code == 2 and "neither an existing folder" in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("video_id,url\nabc,\n")
    result = runner.invoke(app, ["reproduce", str(made.folder), "-w", str(tmp_path / "w"), "--sources", str(bad)])
    assert result.exit_code == 2 and "needs video_id and url or path" in result.output
