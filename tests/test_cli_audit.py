"""`refilter` and `audit {report, explain, query, diff}` through the CLI on a crafted run."""

from __future__ import annotations

import csv
import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from ophora_data.audit.decisionsets import decision_set_ids
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Stage
from ophora_data.stages.decide import DecideStage
from ophora_data.stages.registry import get_stage
from tests.audit.fakerun import build_run, standard_clips
from tests.conftest import make_config

runner = CliRunner()

# Every model adapter in ophora_data/models/: refilter and audit must construct none of them.
# `test_model_guard_names_every_adapter_module` fails when a module is added or renamed without this list.
MODEL_ADAPTERS = (
    ("ophora_data.models.open_clip_adapter", "OpenClipEncoder"),
    ("ophora_data.models.llm", "LLMClient"),
    ("ophora_data.models.whisperx_asr", "WhisperXAsr"),
    ("ophora_data.models.ppocr_text", "PPOCRTextDetector"),
    ("ophora_data.models.yunet_faces", "YuNetFaces"),
)
# Helpers in models/ that load no model (request cache, reply parsing, the captioner record).
NOT_ADAPTERS = {"ophora_data.models.llm_cache", "ophora_data.models.llm_reply", "ophora_data.models.captioner"}
# Libraries that load models or weights; a fresh `refilter` process must import none of them.
HEAVY_LIBRARIES = ("torch", "open_clip", "whisperx", "faster_whisper", "ctranslate2", "transformers",
                   "diffusers", "openai", "onnxruntime", "rapidocr_onnxruntime", "yuface", "cv2", "pytesseract")



@pytest.fixture
def decided(run_dir: RunDir) -> RunDir:
    config = make_config()
    build_run(run_dir, config, standard_clips())
    run_stage(DecideStage(config, run_dir), RunOptions(progress=False))
    return run_dir


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_refilter_flips_from_stored_values_without_models_or_media(decided: RunDir,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("refilter must not set up a stage, load a model or run a media tool")

    for name in ("caption", "cut", "quality", "score", "privacy", "segment"):
        monkeypatch.setattr(get_stage(name), "setup", forbidden)
    for module, adapter in MODEL_ADAPTERS:  # raising=True: a renamed adapter fails here, never drops out
        monkeypatch.setattr(importlib.import_module(module), adapter, forbidden)
    monkeypatch.setattr(Stage, "setup", forbidden)  # DecideStage overrides setup; every other stage would call this
    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    media_before = sorted(p for p in decided.root.rglob("*") if p.is_file() and "media" in p.parts)
    result = runner.invoke(app, ["refilter", "-w", str(decided.root), "--set", "score.clip_text_similarity.min=0.27",
                                 "--set", "quality.width.min=600", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["lost"] == ["vidA_2"]  # 0.22 passed 0.2, fails 0.27
    assert report["lost_by_reason"] == {"score.clip_text_similarity": 1}
    assert report["gained"] == []
    assert report["before"] != report["after"]
    saved = decided.load_config()
    assert saved.score.clip_text_similarity.min == 0.27 and saved.quality.width.min == 600
    assert sorted(p for p in decided.root.rglob("*") if p.is_file() and "media" in p.parts) == media_before
    # Back to the old threshold: the clip comes back, counted the other way.
    back = json.loads(_invoke("refilter", "-w", str(decided.root), "--set", "score.clip_text_similarity.min=0.2",
                              "--json"))
    assert back["gained"] == ["vidA_2"] and back["gained_by_reason"] == {"score.clip_text_similarity": 1}


def test_model_guard_names_every_adapter_module() -> None:
    import pkgutil

    import ophora_data.models

    modules = {f"ophora_data.models.{m.name}" for m in pkgutil.iter_modules(ophora_data.models.__path__)}
    assert modules - NOT_ADAPTERS == {module for module, _ in MODEL_ADAPTERS}
    for module, adapter in MODEL_ADAPTERS:
        assert isinstance(getattr(importlib.import_module(module), adapter), type), (module, adapter)


def test_refilter_in_a_fresh_process_imports_no_model_library(decided: RunDir) -> None:
    code = (
        "import json, sys\n"
        "from cli import app\n"
        "try:\n"
        f"    app(['refilter', '-w', {str(decided.root)!r}, '--set', 'score.clip_text_similarity.min=0.27',"
        " '--json'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"print(json.dumps(sorted(m for m in {HEAVY_LIBRARIES!r} if m in sys.modules)))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert decided.load_config().score.clip_text_similarity.min == 0.27  # it really re-decided


def test_refilter_text_output_and_dry_run(decided: RunDir) -> None:
    result = runner.invoke(app, ["refilter", "-w", str(decided.root), "--set",
                                 "score.clip_text_similarity.min=0.5", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "kept -> rejected: 3" in result.output
    assert "newly rejected by score.clip_text_similarity" in result.output
    assert decided.load_config().score.clip_text_similarity.min == 0.2


def test_explain_lists_checks_decision_and_files(decided: RunDir) -> None:
    info = json.loads(_invoke("audit", "explain", "vidA_4", "-w", str(decided.root), "--json"))
    assert info["video_id"] == "vidA" and info["span"]["start"] == 16
    assert info["instruction"].startswith("Make the capsulorhexis")
    assert info["decision"]["decision"] == "rejected"
    assert len(info["decision"]["reasons"]) == 3
    width = next(c for c in info["checks"] if c["check"] == "width")
    assert width == {**width, "value": 640.0, "threshold": ">= 720", "passed": False}
    assert info["files"]["clip"]["path"].endswith("media/clips/vidA_4.mp4")
    text = _invoke("audit", "explain", "vidA_4", "-w", str(decided.root))
    assert "FAIL  quality.width = 640.0  (threshold >= 720)" in text
    assert "narration of vidA_4" in text


def test_explain_unknown_clip_exits_2_with_suggestions(decided: RunDir) -> None:
    result = runner.invoke(app, ["audit", "explain", "vidA_44", "-w", str(decided.root)])
    assert result.exit_code == 2
    # One line whatever the run directory's path length (rich wrapped it at 80 columns before).
    line = next(line for line in result.output.splitlines() if line.startswith("error:"))
    assert f"in {decided.root}; did you mean vidA_4," in line


def test_query_views_and_output_formats(decided: RunDir) -> None:
    sql = "SELECT decision, count(*) AS n FROM decisions GROUP BY decision ORDER BY decision"
    rows = json.loads(_invoke("audit", "query", sql, "-w", str(decided.root), "--json"))
    assert rows == [{"decision": "kept", "n": 4}, {"decision": "rejected", "n": 5}]
    as_csv = list(csv.reader(io.StringIO(_invoke("audit", "query", sql, "-w", str(decided.root), "--csv"))))
    assert as_csv == [["decision", "n"], ["kept", "4"], ["rejected", "5"]]
    table = _invoke("audit", "query", "SELECT count(*) AS windows FROM segment", "-w", str(decided.root))
    assert "windows" in table and "9" in table
    checks = json.loads(_invoke("audit", "query", "SELECT stage, count(*) AS n FROM checks GROUP BY stage "
                                "ORDER BY stage", "-w", str(decided.root), "--json"))
    assert {r["stage"] for r in checks} >= {"quality", "score", "privacy"}


def test_query_sees_measured_rows_after_a_threshold_change(decided: RunDir) -> None:
    _invoke("refilter", "-w", str(decided.root), "--set", "score.clip_text_similarity.min=0.27")
    rows = json.loads(_invoke("audit", "query", "SELECT count(*) AS n FROM score", "-w", str(decided.root), "--json"))
    assert rows == [{"n": 7}]  # the stored measurements, not an empty view under the new hash
    kept = json.loads(_invoke("audit", "query", "SELECT count(*) AS n FROM decisions WHERE decision = 'kept'",
                              "-w", str(decided.root), "--json"))
    assert kept == [{"n": 3}]


def test_query_error_exits_2(decided: RunDir) -> None:
    result = runner.invoke(app, ["audit", "query", "SELECT nope FROM nowhere", "-w", str(decided.root)])
    assert result.exit_code == 2
    assert "query failed" in result.output


def test_diff_between_decision_sets_and_run_dirs(decided: RunDir, tmp_path: Path) -> None:
    first = decision_set_ids(decided)[-1]
    _invoke("refilter", "-w", str(decided.root), "--set", "score.clip_text_similarity.min=0.27")
    second = decision_set_ids(decided)[-1]
    diff = json.loads(_invoke("audit", "diff", first[:6], second, "-w", str(decided.root), "--json"))
    assert diff["lost"] == ["vidA_2"] and diff["gained"] == []
    assert diff["lost_by_reason"] == {"score.clip_text_similarity": 1}
    text = _invoke("audit", "diff", second, first, "-w", str(decided.root))
    assert "gained (rejected in A, kept in B): 1" in text and "was rejected by score.clip_text_similarity" in text
    # Two run dirs: a second run decided with the default thresholds.
    other = RunDir(tmp_path / "other").create()
    build_run(other, make_config(), standard_clips())
    run_stage(DecideStage(make_config(), other), RunOptions(progress=False))
    across = json.loads(_invoke("audit", "diff", str(decided.root), str(other.root), "--json"))
    assert across["gained"] == ["vidA_2"]


def test_diff_unknown_set_exits_2(decided: RunDir) -> None:
    result = runner.invoke(app, ["audit", "diff", "zzz", "yyy", "-w", str(decided.root)])
    assert result.exit_code == 2
    assert "not a decision set" in result.output


def test_report_command_writes_the_page(decided: RunDir, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    _invoke("audit", "report", "-w", str(decided.root), "--out", str(out))
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "score.clip_text_similarity" in page


def test_audit_commands_refuse_a_missing_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "query", "SELECT 1", "-w", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert not (tmp_path / "nope").exists()
