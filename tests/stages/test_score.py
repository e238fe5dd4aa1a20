"""`score` stage: exact arithmetic and near-duplicates with a fake encoder; the real open_clip path
with a tiny random-weight model (shapes, ranges, batching invariance, cache reuse); skipped mode;
bad clips; resume."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry
from ophora_data.stages.base import StageError
from ophora_data.stages.registry import stage_config_hash
from ophora_data.stages.score import ScoreStage
from tests.conftest import make_config
from tests.helpers.fake_encoder import BLUE, GREEN, RED, FakeEncoder, build_tiny_open_clip

PROMPTS = ["score.positive_prompts=[surgery]", "score.negative_prompts=[talk, slide]", "score.frames=4"]
TEXTS = {"surgery": (1, 0, 0), "talk": (0, 1, 0), "slide": (0, 0, 1),
         "grasp the red capsule": (1, 0, 0), "rinse the green cornea": (0, 1, 0)}
PALETTE = {RED: (1, 0, 0), GREEN: (0, 1, 0), BLUE: (0, 0, 1)}


# Upstream tables -------------------------------------------------------------------------
def colour_clip(out: Path, colours: tuple[str, ...], seconds: float = 1.0) -> Path:
    """Solid-colour segments, 10 fps: `("red", "green")` is 10 red frames then 10 green ones."""
    out.parent.mkdir(parents=True, exist_ok=True)
    inputs: list[str] = []
    for colour in colours:
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:size=64x48:rate=10:duration={seconds}"]
    graph = "".join(f"[{i}:v]" for i in range(len(colours))) + f"concat=n={len(colours)}:v=1:a=0[v]"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *inputs, "-filter_complex", graph, "-map", "[v]",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def add_clip(run: RunDir, config: Config, clip_id: str, instruction: str, colours: tuple[str, ...] = ("red",),
             source: Path | None = None, start: float = 0.0) -> None:
    """One ok `cut` row (+ its clip file) and one ok `caption` row, under the current upstream hashes."""
    if source is None:
        colour_clip(run.clip(clip_id), colours)
        path = str(run.clip(clip_id).relative_to(run.root))  # relative, as cut writes it
    else:
        path = str(source)  # real data is read in place, never copied
    video_id = clip_id.rsplit("_", 1)[0]
    common = {"clip_id": clip_id, "video_id": video_id, "status": "ok", "reason": ""}
    run.table("cut").append([{**common, "path": path, "start": start, "end": start + 2.0,
                              "config_hash": stage_config_hash(registry.get_stage("cut"), config)}])
    run.table("caption").append([{**common, "instruction": instruction,
                                  "config_hash": stage_config_hash(registry.get_stage("caption"), config)}])


def test_items_join_cut_and_caption_in_order(run_dir: RunDir) -> None:
    config = make_config(*PROMPTS)
    add_clip(run_dir, config, "vidB_0", "grasp the red capsule", start=0.0)
    add_clip(run_dir, config, "vidA_1", "rinse the green cornea", start=9.0)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule", start=2.0)
    caption_hash = stage_config_hash(registry.get_stage("caption"), config)
    common = {"video_id": "vidA", "reason": "", "config_hash": caption_hash}
    # A low-confidence check row does not hide the clip (refilter may lower that threshold) ...
    run_dir.table("caption").append([
        {**common, "clip_id": "vidA_1", "status": "ok", "instruction": "rinse the green cornea"},
        {**common, "clip_id": "vidA_1", "status": "rejected", "check": "confidence", "value": 0.1}])
    # ... a rejected instruction does, and so does a clip whose cut failed.
    run_dir.table("caption").append([{**common, "clip_id": "vidA_0", "status": "rejected",
                                      "instruction": "say hello"}])
    add_clip(run_dir, config, "vidC_0", "grasp the red capsule")
    run_dir.table("cut").append([{"clip_id": "vidC_0", "video_id": "vidC", "status": "failed", "reason": "x",
                                  "config_hash": stage_config_hash(registry.get_stage("cut"), config)}])
    items = ScoreStage(config, run_dir).item_rows()
    assert [(i["clip_id"], i["instruction"]) for i in items] == [("vidA_1", "rinse the green cornea"),
                                                                ("vidB_0", "grasp the red capsule")]
    assert run_dir.clip_of(items[0]) == run_dir.clip("vidA_1")  # relative cut paths resolve in the run


def score(run: RunDir, config: Config, encoder: Any = None, limit: int | None = None,
          overwrite: bool = False) -> dict[tuple[str, str], dict]:
    stage = ScoreStage(config, run, encoder=encoder)
    run_stage(stage, RunOptions(progress=False, limit=limit, overwrite=overwrite))
    rows = run.table("score").current("clip_id", stage_config_hash(ScoreStage, config))
    return {(r["clip_id"], r.get("check") or ""): r for r in rows}


def fake() -> FakeEncoder:
    return FakeEncoder(PALETTE, TEXTS, logit_scale=10.0)


# Arithmetic (fake encoder, known vectors) ---------------------------------------------------
def test_similarity_and_surgical_content_are_exact(run_dir: RunDir) -> None:
    config = make_config(*PROMPTS)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule", ("red",))
    add_clip(run_dir, config, "vidA_1", "grasp the red capsule", ("red", "green"), start=5.0)
    add_clip(run_dir, config, "vidB_0", "grasp the red capsule", ("green",))
    rows = score(run_dir, config, fake())

    red, mixed, green = rows["vidA_0", "clip_text_similarity"], rows["vidA_1", "clip_text_similarity"], \
        rows["vidB_0", "clip_text_similarity"]
    assert (red["value"], red["max_value"]) == pytest.approx((1.0, 1.0))
    assert (mixed["value"], mixed["max_value"]) == pytest.approx((0.5, 1.0))  # 2 red + 2 green frames of 4
    assert (green["value"], green["max_value"]) == pytest.approx((0.0, 0.0))
    assert (red["passed"], green["passed"], green["status"]) == (True, False, "rejected")
    # Softmax over [surgery, talk, slide] at logit scale 10, summed over the positive prompt.
    assert rows["vidA_0", "surgical_content"]["value"] == pytest.approx(1 / (1 + 2 * math.exp(-10)))
    assert rows["vidB_0", "surgical_content"]["value"] == pytest.approx(1 / (2 + math.exp(10)))
    assert rows["vidA_1", "surgical_content"]["value"] == pytest.approx(
        (1 / (1 + 2 * math.exp(-10)) + 1 / (2 + math.exp(10))) / 2)
    for row in rows.values():
        assert (row["model"], row["model_revision"], row["frames"]) == ("fake-clip@known-vectors",
                                                                        "fake-revision-1", 4)


def test_bounds_come_from_config_named_like_the_checks(run_dir: RunDir) -> None:
    config = make_config(*PROMPTS, "score.clip_text_similarity.min=0.27", "score.surgical_content.min=0.6",
                         "score.near_duplicate.max=0.9")
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule", ("red", "green"))
    rows = score(run_dir, config, fake())
    similarity = rows["vidA_0", "clip_text_similarity"]
    assert (similarity["threshold"], similarity["op"], similarity["passed"]) == (0.27, ">=", True)
    surgical = rows["vidA_0", "surgical_content"]
    assert (surgical["threshold"], surgical["passed"]) == (0.6, False)
    assert (rows["vidA_0", "near_duplicate"]["threshold"], rows["vidA_0", "near_duplicate"]["op"]) == (0.9, "<=")


def test_near_duplicates_keep_the_earliest_and_name_the_twin(run_dir: RunDir) -> None:
    config = make_config(*PROMPTS)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule", ("red",), start=0.0)
    add_clip(run_dir, config, "vidA_1", "grasp the red capsule", ("red",), start=4.0)  # same video
    add_clip(run_dir, config, "vidA_2", "rinse the green cornea", ("green",), start=8.0)
    add_clip(run_dir, config, "vidB_0", "rinse the green cornea", ("green",))  # a re-upload of vidA_2
    add_clip(run_dir, config, "vidB_1", "rinse the green cornea", ("blue",), start=3.0)
    rows = score(run_dir, config, fake())

    first = rows["vidA_0", "near_duplicate"]
    assert (first["passed"], first["value"], first["twin_clip_id"], first["candidates"]) == (True, -1.0, None, 0)
    same = rows["vidA_1", "near_duplicate"]
    assert (same["passed"], same["twin_clip_id"], same["same_video"]) == (False, "vidA_0", True)
    assert same["value"] == pytest.approx(1.0)
    assert same["reason"] == "near_duplicate 1 not <= 0.97 (twin vidA_0, same video)"
    across = rows["vidB_0", "near_duplicate"]
    assert (across["passed"], across["twin_clip_id"], across["twin_video_id"], across["same_video"]) == \
        (False, "vidA_2", "vidA", False)
    unique = rows["vidB_1", "near_duplicate"]
    assert unique["passed"] and unique["value"] == pytest.approx(0.0)
    assert unique["candidates"] == 4  # every earlier clip, duplicates included: the value needs no threshold


def test_near_duplicate_values_do_not_depend_on_the_bound(tmp_path: Path) -> None:
    """So `refilter --set score.near_duplicate.max=...` re-evaluates stored values exactly."""
    values = {}
    for bound in (0.97, 0.5):
        config = make_config(*PROMPTS, f"score.near_duplicate.max={bound}")
        run = RunDir(tmp_path / str(bound)).create()
        for n, colours in enumerate([("red",), ("red", "green"), ("green",)]):
            add_clip(run, config, f"vidA_{n}", "grasp the red capsule", colours, start=float(n))
        rows = score(run, config, fake())
        values[bound] = {k[0]: (round(r["value"], 6), r["twin_clip_id"]) for k, r in rows.items()
                         if k[1] == "near_duplicate"}
    # The mixed clip is 0.707 from red; green is 0.707 from the mixed one even when that one is a duplicate.
    assert values[0.97] == values[0.5] == {"vidA_0": (-1.0, None), "vidA_1": (0.707107, "vidA_0"),
                                           "vidA_2": (0.707107, "vidA_1")}


def test_rerun_encodes_nothing_and_new_thresholds_rerun_nothing(run_dir: RunDir) -> None:
    config = make_config(*PROMPTS)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule", ("red",))
    add_clip(run_dir, config, "vidA_1", "rinse the green cornea", ("green",), start=3.0)
    first_encoder = fake()
    score(run_dir, config, first_encoder)
    assert first_encoder.frames_encoded == 8 and first_encoder.texts_encoded == 3 + 2

    # Bounds are not part of the hash: stored values are re-decided (refilter), nothing runs.
    stricter = ScoreStage(make_config(*PROMPTS, "score.clip_text_similarity.min=1.01"), run_dir, encoder=fake())
    assert run_stage(stricter, RunOptions(progress=False)).processed == 0
    # A new hash (here an execution setting) scores every clip again, from the cache.
    encoder = fake()
    rows = score(run_dir, make_config(*PROMPTS, "score.batch_size=7"), encoder)
    assert (encoder.frames_encoded, encoder.texts_encoded) == (0, 0)
    assert rows["vidA_0", "clip_text_similarity"]["value"] == pytest.approx(1.0)
    assert rows["vidA_1", "surgical_content"]["value"] == pytest.approx(1 / (2 + math.exp(10)))


def test_cache_misses_only_what_changed(run_dir: RunDir) -> None:
    config = make_config(*PROMPTS)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule", ("red",))
    add_clip(run_dir, config, "vidA_1", "grasp the red capsule", ("green",), start=3.0)
    score(run_dir, config, fake())
    # A new instruction for one clip, new bytes for the other (a recut); new hash via a new bound.
    run_dir.table("caption").append([{"clip_id": "vidA_0", "video_id": "vidA", "status": "ok", "reason": "",
                                      "instruction": "rinse the green cornea",
                                      "config_hash": stage_config_hash(registry.get_stage("caption"), config)}])
    colour_clip(run_dir.clip("vidA_1"), ("blue",), seconds=1.5)
    encoder = fake()
    rows = score(run_dir, make_config(*PROMPTS, "score.prefetch=2"), encoder)
    assert (encoder.frames_encoded, encoder.texts_encoded) == (4, 1)
    assert rows["vidA_0", "clip_text_similarity"]["value"] == pytest.approx(0.0)  # red frames, green text
    assert rows["vidA_1", "surgical_content"]["value"] == pytest.approx(1 / (2 + math.exp(10)))


def test_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    config = make_config(*PROMPTS)
    layout = [("vidA_0", ("red",)), ("vidA_1", ("green",)), ("vidA_2", ("red",)), ("vidB_0", ("green",)),
              ("vidB_1", ("blue",)), ("vidB_2", ("red",))]
    whole, resumed = RunDir(tmp_path / "whole").create(), RunDir(tmp_path / "resumed").create()
    for run in (whole, resumed):
        for n, (clip_id, colours) in enumerate(layout):
            add_clip(run, config, clip_id, "grasp the red capsule", colours, start=float(n))
    expected = score(whole, config, fake())

    score(resumed, config, fake(), limit=2)
    shutil.rmtree(resumed.cache_dir / "score")  # even a lost cache: originals are re-embedded
    score(resumed, config, fake(), limit=3)
    got = score(resumed, config, fake())

    def essence(rows: dict) -> dict:
        return {k: (r["status"], round(r["value"], 6), r.get("twin_clip_id")) for k, r in rows.items()}

    assert essence(got) == essence(expected)
    assert [k for k, r in expected.items() if k[1] == "near_duplicate" and not r["passed"]] == \
        [("vidA_2", "near_duplicate"), ("vidB_0", "near_duplicate"), ("vidB_2", "near_duplicate")]


def test_overwrite_after_new_sources_equals_a_fresh_run(tmp_path: Path) -> None:
    config = make_config(*PROMPTS)
    first = [("vidB_0", ("red",), 0.0), ("vidB_1", ("red",), 1.0), ("vidC_0", ("green",), 0.0)]
    later = ("vidA_0", ("red",), 0.0)  # a new source whose clip sorts before the others
    grown, fresh = RunDir(tmp_path / "grown").create(), RunDir(tmp_path / "fresh").create()
    for clip_id, colours, start in first:
        add_clip(grown, config, clip_id, "grasp the red capsule", colours, start=start)
    score(grown, config, fake())
    for run, clips in ((grown, [later]), (fresh, [*first, later])):
        for clip_id, colours, start in clips:
            add_clip(run, config, clip_id, "grasp the red capsule", colours, start=start)
    encoder = fake()
    got = score(grown, config, encoder, overwrite=True)
    assert encoder.frames_encoded == 4  # only the new clip
    expected = score(fresh, config, fake())
    twins = {k[0]: r["twin_clip_id"] for k, r in expected.items() if k[1] == "near_duplicate" and not r["passed"]}
    assert twins == {"vidB_0": "vidA_0", "vidB_1": "vidA_0"}
    assert {k: (r["passed"], r.get("twin_clip_id")) for k, r in got.items()} == \
        {k: (r["passed"], r.get("twin_clip_id")) for k, r in expected.items()}


# Skipped mode and bad input ------------------------------------------------------------------
@pytest.mark.parametrize(("override", "reason"), [
    ("score.pretrained=null", "skipped: no model weights configured (score.pretrained)"),
    ("score.enabled=false", "skipped: score.enabled is false"),
])
def test_skipped_with_reason_and_no_model_import(run_dir: RunDir, monkeypatch: pytest.MonkeyPatch,
                                                 override: str, reason: str) -> None:
    monkeypatch.setitem(sys.modules, "open_clip", None)  # proves nothing is imported or loaded
    config = make_config("score.pretrained=openai", override)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule")
    rows = score(run_dir, config)
    assert sorted(check for _, check in rows) == ["clip_text_similarity", "near_duplicate", "surgical_content"]
    for row in rows.values():
        assert (row["status"], row["skipped"], row["reason"], row["value"]) == ("ok", True, reason, None)


def test_missing_extra_stops_the_stage_with_install_hint(run_dir: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "open_clip", None)
    config = make_config("score.pretrained=openai")
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule")
    with pytest.raises(StageError, match=r"pip install 'ophora-data\[vision\]'"):
        run_stage(ScoreStage(config, run_dir), RunOptions(progress=False))


def test_bad_clips_become_failed_rows(run_dir: RunDir) -> None:
    config = make_config(*PROMPTS)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule")
    add_clip(run_dir, config, "vidA_1", "grasp the red capsule", start=2.0)
    add_clip(run_dir, config, "vidA_2", "grasp the red capsule", start=4.0)
    add_clip(run_dir, config, "vidA_3", "", ("green",), start=6.0)
    run_dir.clip("vidA_1").unlink()
    run_dir.clip("vidA_2").write_text("not a video\n" * 50)
    rows = score(run_dir, config, fake())
    assert rows["vidA_0", "clip_text_similarity"]["passed"]
    assert rows["vidA_1", ""]["status"] == "failed" and "clip file missing" in rows["vidA_1", ""]["reason"]
    assert rows["vidA_2", ""]["status"] == "failed" and rows["vidA_2", ""]["retryable"] is False
    empty = rows["vidA_3", "clip_text_similarity"]
    assert (empty["status"], empty["reason"], empty["value"]) == ("rejected", "clip_text_similarity: empty instruction",
                                                                  None)
    assert rows["vidA_3", "surgical_content"]["value"] == pytest.approx(1 / (2 + math.exp(10)))


# The real open_clip path (tiny random weights) -------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("open_clip")
    return build_tiny_open_clip(tmp_path_factory.mktemp("tiny-clip"))


def real_config(tiny_model: tuple[Path, Path], *overrides: str) -> Config:
    config_path, checkpoint = tiny_model
    return make_config(f"score.model={config_path}", f"score.pretrained={checkpoint}", "score.device=cpu",
                       "score.frames=3", *overrides)


def test_real_model_rows_shapes_and_ranges(run_dir: RunDir, tiny_model: tuple[Path, Path]) -> None:
    config = real_config(tiny_model)
    add_clip(run_dir, config, "vidA_0", "grasp the red capsule", ("red", "green"))
    add_clip(run_dir, config, "vidA_1", "rinse the green cornea", ("blue",), start=3.0)
    stage = ScoreStage(config, run_dir)
    run_stage(stage, RunOptions(progress=False))
    rows = run_dir.table("score").current("clip_id", stage_config_hash(ScoreStage, config))
    assert len(rows) == 6 and all(r["status"] in ("ok", "rejected") for r in rows)
    for row in rows:
        assert row["model"] == "ophora-tiny-clip@ophora-tiny-clip.pt"
        assert row["model_revision"].startswith("weights-sha256:") and row["frames"] == 3
        low, high = (0.0, 1.0) if row["check"] == "surgical_content" else (-1.0, 1.0)
        assert low - 1e-6 <= row["value"] <= high + 1e-6
    similarity = [r for r in rows if r["check"] == "clip_text_similarity"]
    assert all(r["max_value"] >= r["value"] - 1e-6 for r in similarity)
    assert stage.encoded == {"clips": 2, "frames": 6, "texts": 7 + 2}
    cached = list((run_dir.cache_dir / "score").glob("*/clips/*/*.npz"))
    assert len(cached) == 2 and np.load(cached[0])["frames"].shape == (3, 32)

    again = ScoreStage(real_config(tiny_model, "score.prefetch=1"), run_dir)  # a new hash, same embeddings
    assert run_stage(again, RunOptions(progress=False)).processed == 2
    assert again.encoded == {"clips": 0, "frames": 0, "texts": 0}


def test_real_model_batching_invariance(tmp_path: Path, tiny_model: tuple[Path, Path]) -> None:
    config = real_config(tiny_model, "score.batch_size=1")
    base = RunDir(tmp_path / "b1").create()
    for n, colours in enumerate([("red", "green"), ("blue",), ("green", "blue", "red")]):
        add_clip(base, config, f"vidA_{n}", "grasp the red capsule", colours, start=float(n))
    shutil.copytree(base.root, tmp_path / "b8")  # same clip bytes for both runs
    values = {}
    for name, size in (("b1", 1), ("b8", 8)):
        rows = score(RunDir(tmp_path / name), real_config(tiny_model, f"score.batch_size={size}"))
        values[size] = {k: r["value"] for k, r in rows.items()}
    assert values[1].keys() == values[8].keys() and len(values[1]) == 9
    for key, value in values[1].items():
        assert values[8][key] == pytest.approx(value, abs=1e-5), key


def test_real_model_on_real_clips(run_dir: RunDir, realdata: Path, tiny_model: tuple[Path, Path]) -> None:
    config = real_config(tiny_model)
    surgical = realdata / "surgical" / "cataract1k_case4687_capsulorhexis_52.50-57.50s_224px.mp4"
    caption = (realdata / "text" / "surgery_sft_qwen25vl_output_case4687_capsulorhexis_52.50_57.50.txt").read_text()
    add_clip(run_dir, config, "cat4687_0", caption.strip(), source=surgical)
    add_clip(run_dir, config, "chaplin_0", "Make the incision.", source=realdata / "nonsurgical" /
             "people_silent_film_moviepy_chaplin.mp4")
    rows = score(run_dir, config)
    assert {k[0] for k in rows} == {"cat4687_0", "chaplin_0"}
    assert all(r["status"] != "failed" and np.isfinite(r["value"]) for r in rows.values())
