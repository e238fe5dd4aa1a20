"""The `manifest` config and `build --no-media` on a real release (generated source, real cut)."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from builders.release import build_release
from ophora_data.media.fingerprint import METHOD, Fingerprint, compare, fingerprint_clip
from tests.reproduce.releasefactory import BLURRED_CLIP, WINDOWS, MadeRelease, make_release

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> MadeRelease:
    return make_release(tmp_path_factory.mktemp("manifest"))


def test_manifest_loads_by_name_and_streaming_offline(made: MadeRelease, monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import load_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    table = load_dataset(str(made.folder), "manifest", split="train")
    assert sorted(table["__key__"]) == sorted(made.clip_ids)
    streamed = {r["__key__"]: r["json"] for r in load_dataset(str(made.folder), "manifest", split="train",
                                                               streaming=True)}
    cut = {r["clip_id"]: r for r in made.run.table("cut").all_rows()}
    for index, clip_id in enumerate(made.clip_ids):
        record = streamed[clip_id]
        assert (record["window"]["start"], record["window"]["end"]) == WINDOWS[index]
        assert record["window"]["first_frame"] == cut[clip_id]["source_first_frame"]
        assert record["clip"]["frames"] == record["fingerprint"]["frames"] == cut[clip_id]["frames"]
        assert record["source"]["sha256"] and record["source"]["fps"] == 12.0 and record["source"]["url"] is None
        assert record["fingerprint"]["method"] == METHOD and len(record["fingerprint"]["phash"]) == 8
        assert bool(record["redaction"]["boxes"]) == (index == BLURRED_CLIP)
    blurred = streamed[made.clip_ids[BLURRED_CLIP]]["redaction"]
    assert blurred["frames_blurred"] > 0 and blurred["boxes"][0]["boxes"][0]["kind"] == "text"


def test_no_media_release_has_text_and_metadata_only(made: MadeRelease) -> None:
    from datasets import load_dataset

    default = load_dataset(str(made.folder), "default", split="train")
    assert "mp4" not in default.column_names and sorted(default["__key__"]) == sorted(made.clip_ids)
    for shard in (made.folder / "data").glob("*.tar"):
        with tarfile.open(shard) as tar:
            assert not [m for m in tar.getnames() if m.endswith(".mp4")]
    card = (made.folder / "README.md").read_text()
    assert "This release contains no video" in card and METHOD in card and "ophora-data reproduce" in card
    assert 'record["mp4"]' not in card
    assert json.loads((made.folder / "release.json").read_text())["media"] is False


def test_media_release_fingerprints_match_its_clips(made: MadeRelease, tmp_path: Path) -> None:
    from datasets import load_dataset

    result = build_release(made.run, made.config, tmp_path / "with-media")
    records = {r["__key__"]: r["json"] for r in load_dataset(str(result.out_dir), "manifest", split="train")}
    default = load_dataset(str(result.out_dir), "default", split="train")
    assert "mp4" in default.column_names and len(records) == 5
    card = (result.out_dir / "README.md").read_text()
    assert "This release contains no video" not in card and 'manifest = load_dataset(' in card
    for clip_id in made.clip_ids:
        published = fingerprint_clip(made.run.redacted_clip(clip_id))
        same = compare(Fingerprint.from_json(records[clip_id]["fingerprint"]), published, 0.0)
        assert (same.luma_difference, same.hash_distance, same.same_frame_count) == (0.0, 0, True)
