"""The transcribe stage: import paths, guards as check rows, ASR wiring on tiny models, CLI option."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ophora_data.config import Config
from ophora_data.demo.narration import SpokenSentence, whisperx_transcript
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.tables import group_by, key_status
from ophora_data.run.workdir import RunDir
from ophora_data.stages import transcribe as transcribe_module
from ophora_data.stages.base import StageError
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from ophora_data.stages.registry import stage_config_hash
from ophora_data.stages.transcribe import TranscribeStage
from tests.conftest import MakeVideo, make_config
from tests.helpers.tiny_asr import TINY_WORDS, speech_video, tiny_asr_models

QUIET = RunOptions(progress=False)
GUARDS = {"has_audio", "n_words", "narration_kept", "loop_repeats", "time_overrun_s", "word_order_violations",
          "language"}
COMMON = ("transcript_path", "transcript_source", "language", "n_words")


def _spoken(*sentences: tuple[str, float, float]) -> dict:
    return whisperx_transcript([SpokenSentence(text, start, end) for text, start, end in sentences])


def _sidecar(video: Path, data: dict | str) -> Path:
    path = video.with_suffix(".json")
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _prepare(run: RunDir, config: Config, *videos: Path) -> None:
    run_stage(IngestStage(config, run, [str(v) for v in videos]), QUIET)
    run_stage(ProbeStage(config, run), QUIET)


def _transcribe(run: RunDir, config: Config) -> dict[str, list[dict]]:
    run_stage(TranscribeStage(config, run), QUIET)
    return group_by(run.table("transcribe").all_rows(), "video_id")


def _by_check(rows: list[dict]) -> dict[str, dict]:
    return {row["check"]: row for row in rows}


def test_demo_style_sidecar_is_imported(run_dir: RunDir, make_video: MakeVideo) -> None:
    video = make_video("case.mp4", duration=4.0)
    sidecar = _sidecar(video, _spoken(("Now I make the incision.", 0.5, 1.8), ("Then insert the lens.", 2.4, 3.6)))
    config = make_config("transcribe.precedence=[import]")
    _prepare(run_dir, config, video)
    [(video_id, rows)] = _transcribe(run_dir, config).items()
    assert key_status(rows) == "ok"
    assert set(_by_check(rows)) == GUARDS  # interpolated demo words have no confidence to judge
    for row in rows:
        assert row["transcript_source"] == "import:whisperx" and row["language"] == "en" and row["n_words"] == 9
    written = json.loads(Path(rows[0]["transcript_path"]).read_text())
    assert Path(rows[0]["transcript_path"]) == run_dir.transcripts_dir / f"{video_id}.json"
    assert written["language"] == "en" and written["ophora"]["origin"] == str(sidecar)
    first = written["segments"][0]
    assert first["text"] == "Now I make the incision." and first["start"] == 0.5
    assert set(first["words"][0]) == {"word", "start", "end", "score", "interpolated"}
    assert all(w["interpolated"] for s in written["segments"] for w in s["words"])
    # Resume: a second run finds the video done.
    assert run_stage(TranscribeStage(config, run_dir), QUIET).skipped_done == 1


def test_transcripts_dir_via_cli(tmp_path: Path, make_video: MakeVideo) -> None:
    from cli import app

    video = make_video("clip.mp4", duration=3.0)
    work = tmp_path / "work"
    runner = CliRunner()
    for args in (["ingest", str(video), "-w", str(work)], ["probe", "-w", str(work)]):
        assert runner.invoke(app, args).exit_code == 0
    video_id = RunDir(work).table("ingest").all_rows()[0]["video_id"]
    given = tmp_path / "given"
    given.mkdir()
    (given / f"{video_id}.vtt").write_text("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nrotate the nucleus\n")
    result = runner.invoke(app, ["transcribe", "-w", str(work), "--transcripts", str(given),
                                 "--set", "transcribe.precedence=[import]"])
    assert result.exit_code == 0, result.output
    rows = RunDir(work).table("transcribe").all_rows()
    assert {r["transcript_source"] for r in rows} == {"import:vtt"} and rows[0]["n_words"] == 3
    assert RunDir(work).load_config().transcribe.transcripts_dir == str(given.resolve())


def test_downloaded_subtitles_are_used_and_odd_rows_ignored(run_dir: RunDir, make_video: MakeVideo) -> None:
    video = make_video("dl.mp4", duration=3.0)
    config = make_config("transcribe.precedence=[import]")
    _prepare(run_dir, config, video)
    video_id = run_dir.table("ingest").all_rows()[0]["video_id"]
    subs = run_dir.raw_dir / f"{video_id}.en.vtt"
    subs.write_text("WEBVTT\nLanguage: en\n\n00:00:01.000 --> 00:00:02.500\nstain the capsule\n")
    run_dir.table("download").append([
        {"video_id": video_id, "status": "ok", "reason": "", "subtitles": [str(subs)], "config_hash": "old"},
        {"video_id": "other", "status": "ok", "reason": "", "subtitles": "not-a-list", "config_hash": "old"},
    ])
    rows = _transcribe(run_dir, config)[video_id]
    assert key_status(rows) == "ok" and rows[0]["transcript_source"] == "import:vtt"
    assert rows[0]["n_words"] == 3


def test_hallucination_loop_over_most_of_the_file_rejects_the_video(run_dir: RunDir, make_video: MakeVideo) -> None:
    video = make_video("loop.mp4", duration=6.0)
    _sidecar(video, _spoken(("We close the wound.", 0.2, 1.0), ("thank you " * 15, 1.2, 5.5)))
    config = make_config("transcribe.precedence=[import]")
    _prepare(run_dir, config, video)
    [rows] = _transcribe(run_dir, config).values()
    checks = _by_check(rows)
    assert key_status(rows) == "rejected"
    # The repeats are removed (the first "thank you" stays); what is left is too little of the narration.
    kept = checks["narration_kept"]
    assert kept["status"] == "rejected" and kept["value"] == pytest.approx(6 / 34)
    assert kept["reason"].startswith("too little narration left (lost: 28 words (hallucination loop 28))")
    assert checks["loop_repeats"]["value"] == 1 and checks["loop_repeats"]["status"] == "ok"
    [issue] = kept["segment_issues"]
    assert issue["kind"] == "hallucination loop" and issue["action"] == "repaired"
    assert issue["detail"] == "'thank you' x15: repeats removed" and issue["words_removed"] == 28
    assert all(r["segment_repairs"] == {"hallucination loop": 1} and r["segments_repaired"] == 1 for r in rows)
    written = json.loads(Path(kept["transcript_path"]).read_text())  # rejected, still written
    assert [s["text"] for s in written["segments"]] == ["We close the wound.", "thank you"]
    assert written["ophora"]["segment_issues"] == kept["segment_issues"]


def test_a_local_loop_is_removed_and_the_video_kept(run_dir: RunDir, make_video: MakeVideo) -> None:
    video = make_video("local_loop.mp4", duration=20.0)
    sentences = [(f"Step {n}: now we carefully rotate the nucleus with the chopper.", 1.0 + 3 * n, 3.5 + 3 * n)
                 for n in range(5)]
    _sidecar(video, _spoken(*sentences, ("you you you you you you you", 16.0, 17.0)))
    config = make_config("transcribe.precedence=[import]")
    _prepare(run_dir, config, video)
    [rows] = _transcribe(run_dir, config).values()
    checks = _by_check(rows)
    assert key_status(rows) == "ok", [r["reason"] for r in rows if r["status"] != "ok"]
    assert checks["narration_kept"]["value"] == pytest.approx(56 / 62)  # 5 x 11 words + "you", of 62
    assert checks["n_words"]["value"] == 56 and rows[0]["segment_repairs"] == {"hallucination loop": 1}


def test_timestamps_past_the_end_are_clamped_and_flagged(run_dir: RunDir, make_video: MakeVideo) -> None:
    video = make_video("short.mp4", duration=3.0)
    _sidecar(video, _spoken(("Insert the lens.", 0.5, 2.0), ("And this is from another video.", 6.0, 8.0)))
    config = make_config("transcribe.precedence=[import]")
    _prepare(run_dir, config, video)
    [rows] = _transcribe(run_dir, config).values()
    checks = _by_check(rows)
    overrun = checks["time_overrun_s"]  # measured and stored; no bound by default (a local fault)
    assert overrun["status"] == "ok" and overrun["value"] == pytest.approx(5.0, abs=0.1)
    kept = checks["narration_kept"]  # but most of this transcript lies past the end: a global fault
    assert kept["status"] == "rejected" and kept["value"] == pytest.approx(3 / 9)
    assert "past the media end 6" in kept["reason"]
    assert [(i["action"], i["kind"], i["text"]) for i in kept["segment_issues"]] == [
        ("dropped", "past the media end", "And this is from another video.")]
    written = json.loads(Path(overrun["transcript_path"]).read_text())
    assert max(w["end"] for s in written["segments"] for w in s["words"]) <= 3.05
    assert [s["text"] for s in written["segments"]] == ["Insert the lens."]
    strict = make_config("transcribe.precedence=[import]", "transcribe.time_overrun_s={max: 1.0}")
    assert not strict.transcribe.time_overrun_s.accepts(overrun["value"])  # the old strictness, by config


def test_language_mismatch_and_corrupt_sidecar(run_dir: RunDir, make_video: MakeVideo) -> None:
    german, broken = make_video("de.mp4", duration=3.0), make_video("broken.mp4", duration=2.5)
    data = _spoken(("Jetzt die Linse einsetzen.", 0.5, 2.0))
    data["language"] = "de"
    _sidecar(german, data)
    _sidecar(broken, "{this is not json")
    config = make_config("transcribe.precedence=[import]")
    _prepare(run_dir, config, german, broken)
    ids = {Path(r["local_path"]).name: r["video_id"] for r in run_dir.table("ingest").all_rows()}
    results = _transcribe(run_dir, config)
    language = _by_check(results[ids["de.mp4"]])["language"]
    assert language["status"] == "rejected" and language["value"] == 0.0
    assert language["reason"] == "language 'de' is not the configured 'en'"
    assert language["language"] == "de"
    unreadable = _by_check(results[ids["broken.mp4"]])["transcript_available"]
    assert unreadable["status"] == "rejected" and "broken.json: invalid JSON" in unreadable["reason"]


def test_nothing_to_import_is_rejected_permanently(run_dir: RunDir, make_video: MakeVideo) -> None:
    config = make_config("transcribe.precedence=[import]")
    _prepare(run_dir, config, make_video("bare.mp4", duration=2.0))
    [rows] = _transcribe(run_dir, config).values()
    row = _by_check(rows)["transcript_available"]
    assert row["status"] == "rejected" and row["retryable"] is False
    assert "no sidecar, --transcripts file or downloaded subtitles" in row["reason"]
    assert all(r["transcript_path"] is None for r in rows)


def test_no_audio_stream_is_a_reason_before_any_model(run_dir: RunDir, make_video: MakeVideo) -> None:
    config = make_config("transcribe.precedence=[import,asr]", "transcribe.model=/nonexistent")
    _prepare(run_dir, config, make_video("mute.mp4", duration=2.0, audio=False))
    [rows] = _transcribe(run_dir, config).values()
    checks = _by_check(rows)
    assert checks["has_audio"]["status"] == "rejected" and checks["has_audio"]["reason"] == "no audio stream"
    assert "asr: no audio stream" in checks["transcript_available"]["reason"]


def test_missing_asr_extra(run_dir: RunDir, make_video: MakeVideo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcribe_module, "missing_asr_modules", lambda: ["whisperx"])
    config = make_config("transcribe.precedence=[import,asr]")
    _prepare(run_dir, config, make_video("needs_asr.mp4", duration=2.0))
    [rows] = _transcribe(run_dir, config).values()
    assert rows[0]["status"] == "failed" and "pip install 'ophora-data[asr]'" in rows[0]["reason"]
    with pytest.raises(StageError, match=r"ophora-data\[asr\]"):
        TranscribeStage(make_config("transcribe.precedence=[asr]"), run_dir).setup()


def test_unloadable_model_stops_an_asr_only_run(run_dir: RunDir, make_video: MakeVideo, tmp_path: Path) -> None:
    config = make_config("transcribe.precedence=[asr]", f"transcribe.model={tmp_path / 'missing-model'}")
    _prepare(run_dir, config, make_video("x.mp4", duration=2.0))
    with pytest.raises(StageError, match="ASR model folder not found"):
        run_stage(TranscribeStage(config, run_dir), QUIET)


def test_asr_path_on_tiny_models(run_dir: RunDir, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    whisper, aligner = tiny_asr_models(tmp_path_factory.getbasetemp() / "tiny_asr")
    video = speech_video(tmp_path / "narrated.mp4")
    _sidecar(video, _spoken(("ignored because ASR comes first", 0.5, 2.0)))
    base = ["transcribe.precedence=[asr,import]", f"transcribe.model={whisper}", f"transcribe.align_model={aligner}",
            "transcribe.batch_size=2", "transcribe.cpu_threads=2"]
    config = make_config(*base)
    _prepare(run_dir, config, video)
    [rows] = _transcribe(run_dir, config).values()
    checks = _by_check(rows)
    assert set(checks) == GUARDS | {"mean_word_confidence"}
    assert {r["transcript_source"] for r in rows} == {"asr"}
    assert all(all(k in r for k in COMMON) for r in rows)
    assert checks["n_words"]["model"] == str(whisper) and checks["n_words"]["model_revision"].startswith("whisperx")
    # Random aligner weights give near-zero scores: the confidence guard rejects with its reason.
    assert checks["mean_word_confidence"]["status"] == "rejected"
    assert checks["mean_word_confidence"]["reason"].startswith("very low mean word confidence")
    written = json.loads(Path(rows[0]["transcript_path"]).read_text())
    words = [w for s in written["segments"] for w in s["words"]]
    assert [w["word"] for w in words[:3]] == list(TINY_WORDS)
    assert all(a["start"] <= a["end"] <= b["start"] for a, b in zip(words, words[1:], strict=False))
    assert written["ophora"]["source"] == "asr" and written["ophora"]["aligned"] is True
    # A new bound is a re-decision, not a re-transcription: the stored value passes the relaxed bound.
    relaxed = make_config(*base, "transcribe.mean_word_confidence={min: 0.0}")
    assert stage_config_hash(TranscribeStage, relaxed) == stage_config_hash(TranscribeStage, config)
    value = checks["mean_word_confidence"]["value"]
    assert relaxed.transcribe.mean_word_confidence.accepts(value)
    assert not config.transcribe.mean_word_confidence.accepts(value)


def test_silent_video_uses_its_imported_transcript(run_dir: RunDir, make_video: MakeVideo) -> None:
    """`has_audio` gates ASR only: a sidecar for a video without sound is imported, not ignored."""
    video = make_video("silent.mp4", duration=4.0, audio=False)
    _sidecar(video, _spoken(("Now I make the incision.", 0.5, 1.8), ("Then insert the lens.", 2.4, 3.6)))
    config = make_config("transcribe.precedence=[import,asr]", "transcribe.model=/nonexistent")
    _prepare(run_dir, config, video)
    [rows] = _transcribe(run_dir, config).values()
    checks = _by_check(rows)
    assert key_status(rows) == "ok"
    assert checks["has_audio"]["passed"] is True and checks["has_audio"]["value"] == 0.0  # the fact is kept
    assert rows[0]["transcript_source"] == "import:whisperx" and rows[0]["n_words"] == 9


def test_real_silent_cataract_clip_with_a_supplied_transcript(realdata: Path, tmp_path: Path) -> None:
    """The real Cataract-1K clip has no audio stream; a transcript given with --transcripts is used."""
    from ophora_data.stages import registry
    from ophora_data.stages.segment import SegmentStage

    clip = realdata / "surgical" / "cataract1k_case4687_capsulorhexis_52.50-57.50s_224px.mp4"
    given = tmp_path / "given"
    given.mkdir()
    config = make_config("transcribe.precedence=[import,asr]", f"transcribe.transcripts_dir={given}")
    run = RunDir(tmp_path / "run").create()
    _prepare(run, config, clip)  # read in place, never copied
    probe = run.table("probe").all_rows()[0]
    assert probe["has_audio"] is False or probe["has_audio"] == 0
    video_id = probe["video_id"]
    (given / f"{video_id}.srt").write_text(
        "1\n00:00:00,200 --> 00:00:02,400\nNow we start the capsulorhexis with the forceps.\n\n"
        "2\n00:00:02,600 --> 00:00:04,900\nTear the anterior capsule in a smooth circle.\n")
    rows = _transcribe(run, config)[video_id]
    assert key_status(rows) == "ok" and rows[0]["transcript_source"] == "import:srt"
    run_stage(SegmentStage(config, run), QUIET)
    windows = run.table("segment").current("clip_id", registry.stage_config_hash(SegmentStage, config))
    assert [w["status"] for w in windows] == ["ok", "ok"]
    assert all(w["end"] <= 5.005 + 1e-6 for w in windows)
    assert [w["interpolated_words"] for w in windows] == [w["word_count"] for w in windows] == [8, 8]
