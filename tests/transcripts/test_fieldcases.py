"""Field cases 02 (WhisperX: backwards, overlapping, wordless) and 05 (YouTube rolling VTT) give their
expected windows, end to end through ingest, probe, transcribe (--transcripts DIR) and segment.

Inputs and expectations: ../shared/fieldcases/<case>/CASE.md (skips cleanly when absent).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.status import stage_status
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from ophora_data.stages.segment import SegmentStage
from ophora_data.stages.transcribe import TranscribeStage
from ophora_data.transcripts import load_transcript
from tests.conftest import MakeVideo, make_config

FIELDCASES = Path(__file__).resolve().parents[2].parent / "shared" / "fieldcases"
CASE_02 = "02-whisperx-nonmonotonic-and-wordless"
CASE_05 = "05-youtube-autocaption-rolling-vtt"
QUIET = RunOptions(progress=False)
YOUTUBE_WORDS = ("so today we're going to do a routine phaco case we start with the main incision using a 2.4 "
                 "millimeter keratome and then we fill the chamber with viscoelastic can you give me the cystotome")


def fieldcase(name: str, pattern: str) -> Path:
    folder = FIELDCASES / name
    if not folder.is_dir():
        pytest.skip(f"../shared/fieldcases/{name} is not present")
    [path] = sorted(folder.glob(pattern))
    return path


def run_case(tmp_path: Path, make_video: MakeVideo, transcript: Path, suffix: str, duration: float
             ) -> tuple[RunDir, Config, list[dict[str, Any]], list[dict[str, Any]]]:
    """The case's transcript as `--transcripts DIR/<video_id><suffix>` for a stand-in video of `duration` s."""
    video = make_video("case.mp4", duration=duration, size="64x48", fps=5)
    given = tmp_path / "given"
    given.mkdir()
    config = make_config("transcribe.precedence=[import]", f"transcribe.transcripts_dir={given}")
    run = RunDir(tmp_path / "run").create()
    run_stage(IngestStage(config, run, [str(video)]), QUIET)
    run_stage(ProbeStage(config, run), QUIET)
    video_id = run.table("ingest").all_rows()[0]["video_id"]
    shutil.copyfile(transcript, given / f"{video_id}{suffix}")  # a temp copy, never into the project
    run_stage(TranscribeStage(config, run), QUIET)
    run_stage(SegmentStage(config, run), QUIET)
    transcribe_rows = run.table("transcribe").all_rows()
    windows = run.table("segment").current("clip_id", registry.stage_config_hash(SegmentStage, config))
    windows.sort(key=lambda r: r["start"])
    return run, config, transcribe_rows, windows


def assert_windows_are_sound(windows: list[dict[str, Any]]) -> None:
    for window in windows:
        assert window["status"] == "ok", window["reason"]
        assert window["start"] < window["end"] and 2.0 <= window["duration_s"] <= 10.0
    for left, right in zip(windows, windows[1:], strict=False):
        assert left["end"] <= right["start"] + 1e-6  # no two clips share a moment, so no word twice


def test_case02_whisperx_windows_keep_spoken_order(tmp_path: Path, make_video: MakeVideo) -> None:
    source = fieldcase(CASE_02, "*.whisperx.json")
    run, config, rows, windows = run_case(tmp_path, make_video, source, ".json", 26.0)
    assert all(r["status"] == "ok" for r in rows), [r["reason"] for r in rows if r["status"] != "ok"]
    assert_windows_are_sound(windows)
    spans = {w["narration"]: (w["start"], w["end"], w["interpolated_words"]) for w in windows}
    assert list(spans) == ["Now we stain the capsule with trypan blue.", "Wait one minute, then wash out the dye?",
                           "Fill the bag with viscoelastic.", "20, 30, 40.", "Insert the lens with the injector."]
    # Segment 3 (word times backwards) is one unit over its own span, its words re-timed in order.
    assert spans["Fill the bag with viscoelastic."] == (9.82, 12.94, 5)
    assert spans["20, 30, 40."] == (13.9, 17.6, 3)  # segment 4 (no words): one unit, not merged
    assert spans["Insert the lens with the injector."][:2] == (20.9, 24.6)
    # Segments 1 and 2 overlapped by 0.40 s: one boundary at 4.00 s, each word on one side.
    assert spans["Now we stain the capsule with trypan blue."][1] == spans["Wait one minute, then wash out the dye?"][0]
    assert not any("Okay" in w["narration"] for w in windows)  # the 0.4 ms segment gives no clip
    counts = rows[0]
    assert counts["segment_drops"] == {"zero-length": 1}
    assert counts["segment_repairs"] == {"non-monotonic word times": 2, "overlapping segments": 1,
                                         "no word alignment": 1}
    assert (counts["segments"], counts["segments_dropped"], counts["segments_repaired"]) == (5, 1, 3)
    issues = next(r for r in rows if r.get("check") == "narration_kept")["segment_issues"]
    dropped = [i for i in issues if i["action"] == "dropped"]
    assert dropped == [{"segment": 4, "start": 19.74, "end": 19.74, "action": "dropped", "kind": "zero-length",
                        "detail": "0.4 ms long", "text": "Okay.", "words_removed": 1}]
    extras = stage_status(run, config, "transcribe")["extras"]
    assert extras["segments_dropped"] == {"zero-length": 1} and extras["segments_repaired"]["no word alignment"] == 1


def test_case05_youtube_vtt_words_once_without_tags_or_music(tmp_path: Path, make_video: MakeVideo) -> None:
    source = fieldcase(CASE_05, "*.vtt")
    transcript = load_transcript(source)
    assert " ".join(w.word for w in transcript.words) == YOUTUBE_WORDS  # 35 words, once each, in order
    assert len(transcript.words) == 35
    starts: dict[str, float] = {}
    for word in transcript.words:
        starts.setdefault(word.word, word.start)
    expected = {"so": 2.10, "today": 2.40, "we're": 2.88, "routine": 4.35, "phaco": 4.90, "2.4": 8.55,
                "millimeter": 9.20, "keratome": 9.95, "viscoelastic": 12.60, "can": 14.55, "cystotome": 15.35}
    assert {word: round(starts[word], 2) for word in expected} == expected
    _, _, rows, windows = run_case(tmp_path, make_video, source, ".en.vtt", 20.0)
    assert all(r["status"] == "ok" for r in rows)
    assert_windows_are_sound(windows)
    text = " ".join(w["narration"] for w in windows)
    assert text == YOUTUBE_WORDS
    written = json.loads(Path(rows[0]["transcript_path"]).read_text())
    for junk in ("<c>", "</c>", "<00:", "&gt;", ">>", "[Music]", "Music"):
        assert junk not in text
        assert junk not in json.dumps(written["segments"])  # only the audit trail names what was removed
    for line in ("so today we're going to do a", "routine phaco case we start with the"):
        assert all(w["narration"].count(line) <= 1 for w in windows)
    assert rows[0]["segment_drops"] == {"non-speech": 1} and rows[0]["segment_repairs"] == {"non-speech": 1}
    assert sum(w["interpolated_words"] for w in windows) == 0  # every word has its inline start


def test_case14_audio_longer_than_video_keeps_the_narration_and_cuts_only_the_picture(tmp_path: Path,
                                                                                       media14: Path) -> None:
    """Case 14(b): 4 s of video, 7 s of audio. The transcript keeps the closing words (they were spoken);
    window 1 (0.5-3.5 s) is a clip, window 2 (4.3-6.7 s, audio only) gives no clip."""
    folder = FIELDCASES / "14-duration-metadata"
    if not folder.is_dir():
        pytest.skip("../shared/fieldcases/14-duration-metadata is not present")
    from ophora_data.stages.cut import CutStage

    media = media14
    given = tmp_path / "given"
    given.mkdir()
    config = make_config("transcribe.precedence=[import]", f"transcribe.transcripts_dir={given}",
                         "cut.preset=ultrafast")
    run = RunDir(tmp_path / "run").create()
    run_stage(IngestStage(config, run, [str(media / "audio_longer_than_video.mp4")]), QUIET)
    run_stage(ProbeStage(config, run), QUIET)
    video_id = run.table("ingest").all_rows()[0]["video_id"]
    shutil.copyfile(folder / "audio_longer_than_video.whisperx.json", given / f"{video_id}.json")
    for stage in (TranscribeStage, SegmentStage, CutStage):
        run_stage(stage(config, run), QUIET)
    transcribe = run.table("transcribe").all_rows()
    assert all(r["status"] == "ok" for r in transcribe), [r["reason"] for r in transcribe if r["status"] != "ok"]
    words = load_transcript(Path(next(r["transcript_path"] for r in transcribe if r.get("transcript_path")))).words
    assert max(w.end for w in words) > 6.0  # the words spoken over no picture stay in the transcript
    cuts = run.table("cut").all_rows()
    ok = [r for r in cuts if r["status"] == "ok"]
    assert len(ok) == 1 and ok[0]["start"] < 1.0 and ok[0]["end"] <= 4.0 + 1e-6
    assert not [r for r in cuts if r["status"] == "ok" and r["start"] >= 4.0]
    windows = run.table("segment").all_rows()
    late = [w for w in windows if (w.get("start") or 0) >= 4.0 or (w.get("end") or 0) > 4.0 + 1e-6]
    assert all(w["status"] != "ok" for w in late), late  # rejected with a reason, never a clip
    assert all(w["reason"] for w in late)
