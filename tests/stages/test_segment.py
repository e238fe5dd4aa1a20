"""`segment` over transcribe rows in a real run directory: windows, ids, resume, de-identified narration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ophora_data.config import Config
from ophora_data.demo.narration import DEMO_SENTENCES, SpokenSentence, whisperx_transcript
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run import tables
from ophora_data.run.status import stage_status
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry
from ophora_data.stages.segment import SegmentStage
from tests.conftest import make_config
from tests.text.timed_text import timed_transcript

QUIET = RunOptions(progress=False)
WHISPERX = "asr/whisperx_pr1119_example.reference_whisperx.json"


def add_transcripts(run: RunDir, config: Config, transcripts: dict[str, dict[str, Any] | Path]) -> None:
    """Transcript files + ok transcribe rows (a guard check row first, as transcribe writes them)."""
    stage = registry.get_stage("transcribe")
    config_hash = registry.stage_config_hash(stage, config)
    run.transcripts_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for video_id, data in transcripts.items():
        path = run.transcripts_dir / f"{video_id}.json"
        if isinstance(data, Path):
            path.write_bytes(data.read_bytes())
        else:
            path.write_text(json.dumps(data), encoding="utf-8")
        common = {"video_id": video_id, "status": "ok", "reason": "", "config_hash": config_hash,
                  "updated_at": tables.now_iso(), "retryable": False}
        rows.append({**common, "check": "min_words", "value": 3.0, "passed": True})
        rows.append({**common, "transcript_path": str(path), "transcript_source": "import", "language": "en",
                     "n_words": 0})
    run.table("transcribe").append(rows)


def demo_transcript(gap_s: float = 0.9) -> dict[str, Any]:
    """The demo's narration with sentence spans like espeak-ng's (3-4 s each, gaps between)."""
    spoken, cursor = [], 0.5
    for sentence in DEMO_SENTENCES:
        length = 0.33 * len(sentence.split())
        spoken.append(SpokenSentence(sentence, cursor, cursor + length))
        cursor += length + gap_s
    return whisperx_transcript(spoken)


def segment_rows(run: RunDir, config: Config) -> list[dict[str, Any]]:
    rows = run.table("segment").current("clip_id", registry.stage_config_hash(SegmentStage, config))
    return sorted(rows, key=lambda r: (r["video_id"], int(r["clip_id"].rsplit("_", 1)[1])))


def test_demo_narration_one_window_per_sentence(run_dir: RunDir) -> None:
    config = make_config()
    add_transcripts(run_dir, config, {"demo-case": demo_transcript()})
    result = run_stage(SegmentStage(config, run_dir), QUIET)
    assert result.status_counts["ok"] == 6 and result.processed == 1
    rows = segment_rows(run_dir, config)
    assert [r["clip_id"] for r in rows] == [f"demo-case_{i}" for i in range(6)]
    assert [r["narration"] for r in rows] == list(DEMO_SENTENCES)
    for row in rows:
        assert row["status"] == "ok" and 2.0 <= row["duration_s"] <= 10.0
        assert row["end"] - row["start"] == pytest.approx(row["duration_s"], abs=1e-3)
        assert row["word_count"] == len(row["narration"].split()) and 1.0 < row["speech_rate"] < 5.0
        assert row["deid_counts"] == {}
        assert row["interpolated_words"] == row["word_count"]  # the demo's word times are interpolated


def test_real_transcripts_bounds_and_stable_ids(realdata: Path, tmp_path: Path) -> None:
    config = make_config()
    record = json.loads((realdata / "text/vlm_surgery_eval_qwen3vl_8b_full_narration_responses.jsonl")
                        .read_text(encoding="utf-8").splitlines()[0])
    transcripts = {"whisperx-real": realdata / WHISPERX,
                   record["yt_id"]: timed_transcript(record["model_response"])}
    outputs = []
    for name in ("a", "b"):
        run = RunDir(tmp_path / name).create()
        add_transcripts(run, config, transcripts)
        run_stage(SegmentStage(config, run), QUIET)
        outputs.append([(r["clip_id"], r["start"], r["end"], r["narration"], r["status"], r["reason"])
                        for r in segment_rows(run, config)])
    assert outputs[0] == outputs[1]  # same transcript + config -> same ids and windows
    rows = segment_rows(RunDir(tmp_path / "a"), config)
    long_ok = [r for r in rows if r["video_id"] == record["yt_id"] and r["status"] == "ok"]
    assert len(long_ok) >= 10 and all(2.0 <= r["duration_s"] <= 10.0 for r in long_ok)
    short = [r for r in rows if r["video_id"] == "whisperx-real"]
    assert [r["status"] for r in short] == ["rejected"] * 3
    assert all("shorter than segment.min_s" in r["reason"] for r in short)


def test_resume_is_per_video_and_rerun_does_nothing(run_dir: RunDir) -> None:
    config = make_config()
    add_transcripts(run_dir, config, {f"vid{i}": demo_transcript() for i in range(3)})
    first = run_stage(SegmentStage(config, run_dir), RunOptions(progress=False, limit=1))
    assert first.processed == 1 and first.status_counts["ok"] == 6
    status = stage_status(run_dir, config, "segment")
    assert status["pending"] == 2 and status["ok"] == 6
    second = run_stage(SegmentStage(config, run_dir), QUIET)
    assert second.processed == 2 and second.skipped_done == 1
    third = run_stage(SegmentStage(config, run_dir), QUIET)
    assert third.processed == 0 and third.skipped_done == 3
    assert len(segment_rows(run_dir, config)) == 18
    assert stage_status(run_dir, config, "segment")["pending"] == 0


def test_narration_is_deidentified_before_it_is_stored(run_dir: RunDir) -> None:
    config = make_config()
    text = ("Hello, I am Dr. Jane Doe and this patient MRN 12345678 was seen on March 3, 2021. "
            "Now I make a clear corneal incision with the keratome at the limbus.")
    add_transcripts(run_dir, config, {"case": timed_transcript(text, long_pause_every=1)})
    run_stage(SegmentStage(config, run_dir), QUIET)
    rows = segment_rows(run_dir, config)
    stored = json.dumps(rows)
    for secret in ("Jane", "Doe", "12345678", "March"):
        assert secret not in stored
    # The timing puts a 2 s pause after "Dr.", so the name straddles two windows: neither keeps any of it.
    assert rows[0]["narration"] == "Hello, I am [NAME]"
    assert rows[1]["narration"] == "and this patient MRN [ID] was seen on [DATE]."
    assert [r["deid_counts"] for r in rows[:3]] == [{"NAME": 1}, {"DATE": 1, "ID": 1}, {}]


def test_bad_transcripts_give_rows_with_reasons(run_dir: RunDir) -> None:
    config = make_config()
    add_transcripts(run_dir, config, {"empty": {"segments": []}, "broken": {"no": "segments"},
                                      "good": demo_transcript()})
    (run_dir.transcripts_dir / "gone.json").unlink(missing_ok=True)
    add_transcripts(run_dir, config, {"gone": {"segments": []}})
    (run_dir.transcripts_dir / "gone.json").unlink()
    result = run_stage(SegmentStage(config, run_dir), QUIET)
    assert result.processed == 4
    by_video = {r["video_id"]: r for r in segment_rows(run_dir, config) if r["clip_id"].endswith("_0")}
    assert by_video["empty"]["status"] == "rejected"
    assert by_video["empty"]["reason"] == "transcript has no timed words"
    assert by_video["broken"]["status"] == "failed" and "no 'segments'" in by_video["broken"]["reason"]
    assert by_video["gone"]["status"] == "failed" and "not found" in by_video["gone"]["reason"]
    assert not by_video["gone"]["retryable"]
    assert by_video["good"]["status"] == "ok"
    # Permanent failures are not retried automatically; --retry-failed supersedes them.
    assert run_stage(SegmentStage(config, run_dir), QUIET).processed == 0
    add_transcripts(run_dir, config, {"gone": demo_transcript()})
    retried = run_stage(SegmentStage(config, run_dir), RunOptions(progress=False, retry_failed=True))
    assert retried.processed == 2  # gone (now present) and broken
    gone = [r for r in segment_rows(run_dir, config) if r["video_id"] == "gone"]
    assert len(gone) == 6 and all(r["status"] == "ok" for r in gone)


def test_probed_duration_clamps_windows(run_dir: RunDir) -> None:
    config = make_config()
    add_transcripts(run_dir, config, {"short": demo_transcript()})
    probe_hash = registry.stage_config_hash(registry.get_stage("probe"), config)
    run_dir.table("probe").append([{"video_id": "short", "status": "ok", "reason": "", "duration_s": 9.0,
                                    "config_hash": probe_hash, "updated_at": tables.now_iso()}])
    run_stage(SegmentStage(config, run_dir), QUIET)
    rows = segment_rows(run_dir, config)
    assert all(r["end"] <= 9.0 for r in rows if r["status"] == "ok")
    assert any("after the end of the video" in r["reason"] for r in rows)


def test_a_stricter_transcribe_guard_is_honoured_without_re_transcribing(run_dir: RunDir) -> None:
    """Guard thresholds are not part of transcribe's hash; segment re-judges the stored values."""
    config = make_config()
    stage = registry.get_stage("transcribe")
    path = run_dir.transcripts_dir / "vid.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(demo_transcript()), encoding="utf-8")
    common = {"video_id": "vid", "status": "ok", "reason": "", "transcript_path": str(path),
              "config_hash": registry.stage_config_hash(stage, config)}
    run_dir.table("transcribe").append([{**common, "check": "mean_word_confidence", "value": 0.5, "passed": True},
                                        {**common, "check": "n_words", "value": 60.0, "passed": True}])
    assert [i["video_id"] for i in SegmentStage(config, run_dir).item_rows()] == ["vid"]
    strict = make_config("transcribe.mean_word_confidence.min=0.9")
    assert registry.stage_config_hash(stage, strict) == registry.stage_config_hash(stage, config)
    assert SegmentStage(strict, run_dir).item_rows() == []


def test_non_speech_gives_no_window_and_never_reaches_narration(run_dir: RunDir) -> None:
    config = make_config()
    first = SpokenSentence("Now we make the main incision with the keratome.", 0.5, 3.5)
    music = SpokenSentence("[Music]", 4.0, 8.0)
    lyrics = SpokenSentence("♪ la la la ♪", 8.2, 8.8)
    last = SpokenSentence(">> Then we fill the chamber &amp; the bag.", 9.0, 12.0)
    add_transcripts(run_dir, config, {"tags": whisperx_transcript([first, music, lyrics, last])})
    run_stage(SegmentStage(config, run_dir), QUIET)
    rows = segment_rows(run_dir, config)
    assert [r["narration"] for r in rows] == ["Now we make the main incision with the keratome.",
                                              "Then we fill the chamber & the bag."]
    assert all(r["status"] == "ok" for r in rows)
