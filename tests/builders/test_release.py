"""`build_release` end to end on a crafted run: layout, load_dataset (streaming and not), card, refusals."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from builders.checksums import CHECKSUMS_FILE, read_checksums
from builders.guards import ReleaseRefused
from builders.release import build_release
from ophora_data.run.workdir import RunDir
from tests.builders.runfactory import default_specs, make_release_run, release_config

KEPT = ["vidAAAAAAAA_0", "vidAAAAAAAA_1", "vidAAAAAAAA_10", "local-0123456789abcdef_0"]


def _front_matter(readme: Path) -> dict:
    text = readme.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_build_release_loads_back_with_datasets(release_run: RunDir) -> None:
    from datasets import load_dataset

    config = release_config()
    result = build_release(release_run, config)
    out = result.out_dir
    assert out == release_run.release_dir
    assert result.counts == {"candidates": 5, "default": 4, "strict": 2}
    assert result.load_snippet == f'load_dataset("{out}", "default", split="train")'
    assert any(item.startswith("default: 4 records") for item in result.verified)
    shards = sorted(p.name for p in (out / "data").glob("*.tar"))
    assert shards == ["train-00000.tar", "train-00001.tar"]  # tiny target size, rounded to shard_multiple=2

    rows = load_dataset(str(out), "default", split="train")
    assert sorted(rows["__key__"]) == sorted(KEPT)
    assert list(rows["__key__"]) == ["local-0123456789abcdef_0", *KEPT[:3]]  # natural order: _1 before _10
    first = rows[1]
    assert first["txt"] == "Make a clear corneal incision with the keratome."
    assert first["mp4"].metadata.num_frames == 8
    meta = first["json"]
    assert meta["source_url"] == "https://www.youtube.com/watch?v=vidAAAAAAAA"
    assert meta["decision_set_id"] == "ds-test01"
    assert meta["privacy"]["verified"] is True and meta["privacy"]["strict"] is True
    assert meta["attributes"] == {"surgical_phase": "incision", "instruments": None}  # same keys in every record
    assert meta["scores"] is None and (meta["width"], meta["height"], meta["fps"]) == (64, 48, 8.0)
    assert rows[2]["json"]["attributes"]["instruments"] == ["cannula"]

    stream = load_dataset(str(out), "strict", split="train", streaming=True)
    records = list(stream)
    assert [r["__key__"] for r in records] == ["vidAAAAAAAA_0", "vidAAAAAAAA_10"]
    assert records[1]["txt"] == "Complete the capsulorhexis with forceps." and records[1]["mp4"] is not None

    audit = load_dataset(str(out), "audit", split="train").flatten()
    assert audit.num_rows == 5 and list(audit["json.decision"]).count("kept") == 4
    table = pd.read_parquet(out / "audit" / "candidates.parquet")
    assert len(table) == 5 and (table.decision == "kept").sum() == 4
    rejected = table[table.clip_id == "vidAAAAAAAA_2"].iloc[0]
    assert list(rejected.reasons) == ["quality: width 10 not >= 720"]
    assert {c["check"] for c in rejected.checks} >= {"width", "verification", "faces_detected"}
    assert not any(c["stage"] == "score" for c in rejected.checks)  # skipped score rows are not checks

    card = _front_matter(out / "README.md")
    assert card["task_categories"] == ["text-to-video"] and card["license"] == "cc-by-nc-4.0"
    assert [c["config_name"] for c in card["configs"]] == ["default", "strict", "audit", "manifest"]
    assert card["configs"][0]["data_files"] == [{"split": "train", "path": "data/train-*.tar"}]
    assert card["size_categories"] == ["n<1K"]
    assert any("re-identify" in field for field in card["extra_gated_fields"])
    assert "Affiliation" in card["extra_gated_fields"]
    body = (out / "README.md").read_text()
    assert "scoring was skipped: score.enabled is false" in body and "&id0" not in body
    assert "| capsulorhexis | 2 |" in body and "Ophora: A Large-Scale" in body and "OphCLIP" in body
    # The privacy section states the sampling the stage used (defaults: faces 1 frame in 8, text every 5/6 s).
    assert "looked for on one frame in 8" in body and "whole frames every 0.83 s" in body
    assert set(read_checksums(out)) == {p.relative_to(out).as_posix() for p in out.rglob("*")
                                        if p.is_file() and p.name != CHECKSUMS_FILE}
    assert not list(out.parent.glob(".release.*"))  # staging swapped in, nothing left behind


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    config = release_config("build.verify=false")
    run_a = make_release_run(tmp_path / "a", config)
    first = build_release(run_a, config)
    again = build_release(run_a, config)
    elsewhere = build_release(run_a, config, out=tmp_path / "copy")
    assert first.checksums == again.checksums == elsewhere.checksums
    shard = first.out_dir / "data" / "train-00000.tar"
    assert shard.read_bytes() == (tmp_path / "copy" / "data" / "train-00000.tar").read_bytes()
    with tarfile.open(shard) as tar:
        members = tar.getmembers()
    assert [m.name for m in members][:3] == [f"local-0123456789abcdef_0.{ext}" for ext in ("json", "mp4", "txt")]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, 0, "", "", 0o644)}
    assert shard.stat().st_mode & 0o777 == 0o644  # readable by others, unlike private temp files


def test_refuses_unverified_clip_naming_it(tmp_path: Path) -> None:
    specs = default_specs()
    specs[1].verified = False
    config = release_config()
    run = make_release_run(tmp_path / "run", config, specs)
    with pytest.raises(ReleaseRefused) as err:
        build_release(run, config)
    assert "vidAAAAAAAA_1: privacy verification did not pass" in str(err.value)
    assert "vidAAAAAAAA_0" not in str(err.value)
    assert not run.release_dir.exists()


def test_refuses_instruction_with_identifiers(tmp_path: Path) -> None:
    specs = default_specs()
    specs[0].instruction = "Dr. Smith makes the incision on 03/12/2021 for patient John Miller."
    specs[2].instruction = "Dr. Jones shows the incision on 04/01/2020."  # rejected clip: withheld from audit
    config = release_config()
    run = make_release_run(tmp_path / "run", config, specs)
    with pytest.raises(ReleaseRefused) as err:
        build_release(run, config)
    assert "vidAAAAAAAA_0: instruction matches de-identification patterns" in str(err.value)

    specs[0].instruction = "Make a clear corneal incision with the keratome."
    run = make_release_run(tmp_path / "run2", config, specs)
    result = build_release(run, config)
    import pyarrow.parquet as pq

    audit = {r["clip_id"]: r for r in pq.read_table(result.out_dir / "audit" / "candidates.parquet").to_pylist()}
    assert audit["vidAAAAAAAA_2"]["instruction"] is None
    assert audit["vidAAAAAAAA_2"]["instruction_withheld"].startswith("matched de-identification patterns")
    assert "Jones" not in (result.out_dir / "README.md").read_text()


def test_scores_recorded_when_scoring_ran(tmp_path: Path) -> None:
    config = release_config("build.verify=false", "build.gated=false", "build.strict_config=false")
    run = make_release_run(tmp_path / "run", config, scored=True)
    result = build_release(run, config)
    with tarfile.open(result.out_dir / "data" / "train-00000.tar") as tar:
        meta = json.loads(tar.extractfile("local-0123456789abcdef_0.json").read())  # type: ignore[union-attr]
    assert meta["scores"] == {"clip_text_similarity": 0.31, "surgical_content": 0.8}
    card_text = (result.out_dir / "README.md").read_text()
    assert "scores were computed" in card_text and "ViT-B-16 @ rev1" in card_text
    card = _front_matter(result.out_dir / "README.md")
    assert "extra_gated_fields" not in card and [c["config_name"] for c in card["configs"]] == ["default", "audit",
                                                                                           "manifest"]
    assert not (result.out_dir / "strict").exists()


def test_refuses_to_replace_a_folder_that_is_not_a_release(release_run: RunDir, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    with pytest.raises(ReleaseRefused, match="not a release directory"):
        build_release(release_run, release_config(), out=precious)
    assert (precious / "thesis.tex").exists()


def test_refuses_when_nothing_is_kept(tmp_path: Path) -> None:
    specs = [s for s in default_specs() if not s.kept]
    config = release_config()
    run = make_release_run(tmp_path / "run", config, specs)
    with pytest.raises(ReleaseRefused, match="no kept clips"):
        build_release(run, config)
