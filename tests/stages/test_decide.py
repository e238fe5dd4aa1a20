"""decide: one decision per candidate window from crafted check rows; all reasons; subsets."""

from __future__ import annotations

import json

from ophora_data.audit.decisions import reason_key
from ophora_data.audit.decisionsets import load_decisions, read_decision_set
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages.decide import DecideStage
from ophora_data.stages.registry import get_stage, stage_config_hash
from tests.audit.fakerun import Clip, build_run, standard_clips, write_rows
from tests.conftest import make_config


def _decide(run: RunDir, *sets: str) -> dict[str, dict]:
    config = make_config(*sets)
    stage = DecideStage(config, run)
    run_stage(stage, RunOptions(progress=False))
    return load_decisions(run, stage.decision_set_id)


def test_every_window_gets_one_decision_with_all_reasons(run_dir: RunDir) -> None:
    build_run(run_dir, make_config(), standard_clips())
    decisions = _decide(run_dir)
    assert set(decisions) == {c.clip_id for c in standard_clips()}
    kept = {cid for cid, row in decisions.items() if row["decision"] == "kept"}
    assert kept == {"vidA_0", "vidA_1", "vidA_2", "vidB_2"}
    for row in decisions.values():
        assert row["status"] == ("ok" if row["decision"] == "kept" else "rejected")
        assert row["reason"] == "; ".join(row["reasons"])
    assert decisions["vidA_3"]["reasons"] == ["segment: window too short (1.0 s)"]
    assert decisions["vidA_4"]["reason_keys"] == ["quality.width", "quality.height", "score.clip_text_similarity"]
    assert decisions["vidA_4"]["reasons"][0] == "quality.width 640 not >= 720"
    assert decisions["vidB_0"]["reasons"] == ["caption: not procedural"]
    assert decisions["vidB_1"]["reasons"] == ["missing privacy"]
    assert decisions["vidB_3"]["reasons"] == ["missing caption", "missing cut", "missing quality",
                                              "missing privacy"]


def test_subsets_follow_privacy_strict(run_dir: RunDir) -> None:
    build_run(run_dir, make_config(), standard_clips())
    decisions = _decide(run_dir)
    assert decisions["vidA_0"]["subsets"] == ["default", "strict"]
    assert decisions["vidA_1"]["subsets"] == ["default"]
    assert decisions["vidA_4"]["subsets"] == []


def test_thresholds_from_config_redecide_stored_values(run_dir: RunDir) -> None:
    build_run(run_dir, make_config(), standard_clips())
    decisions = _decide(run_dir, "score.clip_text_similarity.min=0.27", "quality.width.min=600")
    assert decisions["vidA_2"]["reasons"] == ["score.clip_text_similarity 0.22 not >= 0.27"]
    # width 640 now passes; height and similarity still fail.
    assert decisions["vidA_4"]["reason_keys"] == ["quality.height", "score.clip_text_similarity"]


def test_required_stages_and_ignored_checks_come_from_config(run_dir: RunDir) -> None:
    build_run(run_dir, make_config(), standard_clips())
    decisions = _decide(run_dir, "decide.required_stages=[caption,cut,quality,privacy,score]",
                        "decide.ignore_checks=[height]")
    assert decisions["vidB_2"]["reasons"] == ["missing score"]  # skipped rows do not count
    assert decisions["vidA_4"]["reason_keys"] == ["quality.width", "score.clip_text_similarity"]


def test_absent_stage_table_contributes_nothing_unless_required(run_dir: RunDir) -> None:
    config = make_config("decide.required_stages=[caption]")
    build_run(run_dir, config, [Clip("vidA_0", quality=None, score=None, privacy=None, cut=False)])
    assert _decide(run_dir, "decide.required_stages=[caption]")["vidA_0"]["decision"] == "kept"


def test_failed_rows_are_reasons_and_never_crash(run_dir: RunDir) -> None:
    config = make_config()
    build_run(run_dir, config, [Clip("vidA_0", quality=None), Clip("vidA_1", start=5, end=10)])
    write_rows(run_dir, config, "quality", [
        {"clip_id": "vidA_0", "video_id": "vidA", "status": "failed", "reason": "OSError: broken file"},
        # not numeric: the stored `passed` counts
        {"clip_id": "vidA_1", "video_id": "vidA", "status": "ok", "reason": "", "check": "width",
         "value": float("nan"), "passed": False}])
    decisions = _decide(run_dir)
    assert decisions["vidA_0"]["reasons"] == ["missing quality", "quality failed: OSError: broken file"]
    assert decisions["vidA_0"]["reason_keys"] == ["missing quality", "quality failed"]
    assert decisions["vidA_1"]["reasons"] == ["quality.width: failed"]
    assert [reason_key(r) for r in decisions["vidA_0"]["reasons"]] == decisions["vidA_0"]["reason_keys"]


def test_decision_set_metadata_records_versions(run_dir: RunDir) -> None:
    build_run(run_dir, make_config(), standard_clips())
    decisions = _decide(run_dir, "score.clip_text_similarity.min=0.25")
    set_id = next(iter(decisions.values()))["decision_set_id"]
    meta = read_decision_set(run_dir, set_id)
    assert meta is not None
    assert meta["thresholds"]["score.clip_text_similarity"] == {"min": 0.25, "max": None}
    assert meta["thresholds"]["quality.width"] == {"min": 720.0, "max": None}
    assert {"stage": "score", "model": "ViT-B-16", "model_revision": "abc123",
            "checks": ["clip_text_similarity"]} in meta["models"]
    assert meta["prompts"][0]["prompt_version"] == "p1"
    assert meta["code_version"]
    assert meta["counts"]["kept"] == sum(r["decision"] == "kept" for r in decisions.values())
    assert meta["counts"]["candidates"] == len(standard_clips())
    json.dumps(meta)  # plain JSON all the way down


def test_same_config_is_the_same_decision_set_and_resumes(run_dir: RunDir) -> None:
    build_run(run_dir, make_config(), standard_clips())
    first = _decide(run_dir)
    stage = DecideStage(make_config(), run_dir)
    result = run_stage(stage, RunOptions(progress=False))
    assert result.processed == 0 and result.skipped_done == len(first)
    assert stage.decision_set_id == next(iter(first.values()))["decision_set_id"]
    other = _decide(run_dir, "score.clip_text_similarity.min=0.27")
    assert next(iter(other.values()))["decision_set_id"] != stage.decision_set_id


def test_threshold_change_upstream_still_finds_downstream_rows(run_dir: RunDir) -> None:
    """caption.confidence feeds caption's hash, which feeds score's: both are re-based on stored bounds."""
    clips = [Clip("vidA_0", confidence=0.9), Clip("vidA_1", start=5, end=10, confidence=0.4)]
    build_run(run_dir, make_config(), clips)
    decisions = _decide(run_dir, "caption.confidence.min=0.5",
                        "decide.required_stages=[caption,cut,quality,score,privacy]")
    assert decisions["vidA_0"]["decision"] == "kept"
    assert decisions["vidA_1"]["reasons"] == ["caption.confidence 0.4 not >= 0.5"]


def test_a_non_threshold_change_does_not_reuse_stale_rows(run_dir: RunDir) -> None:
    build_run(run_dir, make_config(), [Clip("vidA_0")])
    decisions = _decide(run_dir, "quality.scene_threshold=30")
    assert decisions["vidA_0"]["reasons"] == ["missing quality"]


def test_transcript_guards_are_video_level_checks(run_dir: RunDir) -> None:
    """A clip inherits its video's transcribe guards; a stricter guard re-decides without a model."""
    config = make_config()
    build_run(run_dir, config, standard_clips())
    transcribe_hash = stage_config_hash(get_stage("transcribe"), config)
    run_dir.table("transcribe").append([
        {"video_id": video, "status": "ok", "reason": "", "check": "mean_word_confidence", "value": value,
         "passed": True, "config_hash": transcribe_hash} for video, value in (("vidA", 0.5), ("vidB", 0.8))])
    assert {c for c, r in _decide(run_dir).items() if r["decision"] == "kept"} == {
        "vidA_0", "vidA_1", "vidA_2", "vidB_2"}
    strict = _decide(run_dir, "transcribe.mean_word_confidence.min=0.6")
    assert {c for c, r in strict.items() if r["decision"] == "kept"} == {"vidB_2"}
    assert strict["vidA_0"]["reasons"] == ["transcribe.mean_word_confidence 0.5 not >= 0.6"]


def test_strict_needs_every_privacy_row_to_say_strict(run_dir: RunDir) -> None:
    """A clip is in `strict` only when every privacy row that records the flag says true."""
    config = make_config()
    build_run(run_dir, config, [Clip("vidA_0"), Clip("vidA_1", start=5, end=10), Clip("vidA_2", start=10, end=15)])
    write_rows(run_dir, config, "privacy", [
        {"clip_id": "vidA_0", "video_id": "vidA", "status": "ok", "reason": "", "privacy_strict": True},
        {"clip_id": "vidA_0", "video_id": "vidA", "status": "ok", "reason": "", "privacy_strict": False},
        {"clip_id": "vidA_1", "video_id": "vidA", "status": "ok", "reason": "", "privacy_strict": True},
        {"clip_id": "vidA_1", "video_id": "vidA", "status": "ok", "reason": "", "privacy_strict": None},
        {"clip_id": "vidA_2", "video_id": "vidA", "status": "ok", "reason": "", "privacy_strict": None}])
    decisions = _decide(run_dir)
    assert {c: d["subsets"] for c, d in decisions.items()} == {
        "vidA_0": ["default"], "vidA_1": ["default", "strict"], "vidA_2": ["default"]}
