"""`audit explain` answers for one clip from queries (no table read whole), including the narration
that transcribe dropped or repaired inside the clip's span."""

from __future__ import annotations

from ophora_data.audit.explain import explain, format_explain
from ophora_data.run.workdir import RunDir
from ophora_data.stages.registry import get_stage, stage_config_hash
from tests.audit.fakerun import build_run, standard_clips
from tests.conftest import make_config


def test_explain_lists_the_narration_lost_in_the_clips_span(run_dir: RunDir) -> None:
    config = make_config()
    build_run(run_dir, config, standard_clips())
    issues = [{"segment": 3, "start": 6.0, "end": 7.5, "action": "dropped", "kind": "hallucination loop",
               "detail": "repeated 6 times", "text": "thank you thank you", "words_removed": 4},
              {"segment": 9, "start": 30.0, "end": 31.0, "action": "repaired", "kind": "zero-length",
               "detail": "", "text": "", "words_removed": 0}]
    run_dir.table("transcribe").append([{
        "video_id": "vidA", "status": "ok", "reason": "", "check": "narration_kept", "value": 0.9, "passed": True,
        "segment_issues": issues, "config_hash": stage_config_hash(get_stage("transcribe"), config)}])
    info = explain(run_dir, config, "vidA_1")  # 5-10 s: the dropped loop at 6-7.5 s is in its span
    assert info["narration_issues"] == {"in_span": [issues[0]], "in_video": 2}
    assert explain(run_dir, config, "vidA_4")["narration_issues"] == {"in_span": [], "in_video": 2}
    text = format_explain(info)
    assert "2 segment(s) of the video dropped or repaired" in text and "'thank you thank you'" in text
    assert [c["check"] for c in info["checks"] if c["stage"] == "transcribe"] == ["narration_kept"]
