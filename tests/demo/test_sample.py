from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ophora_data.demo.narration import DEMO_SENTENCES
from ophora_data.demo.sample import make_demo_sample
from ophora_data.media.probe import probe_file

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def test_demo_sample_has_exact_sentence_timings(tmp_path: Path) -> None:
    sentences = DEMO_SENTENCES[:2]
    sample = make_demo_sample(tmp_path, sentences)
    meta = probe_file(sample.video)
    assert meta["has_audio"] and meta["width"] >= 720 and meta["height"] >= 480
    transcript = json.loads(sample.transcript.read_text())
    segments = transcript["segments"]
    assert [s["text"] for s in segments] == list(sentences)
    assert segments[0]["start"] == pytest.approx(0.5, abs=0.01)
    assert segments[1]["start"] - segments[0]["end"] == pytest.approx(0.9, abs=0.01)
    assert segments[-1]["end"] < meta["duration_s"]
    for segment in segments:
        words = segment["words"]
        assert words[0]["start"] == segment["start"] and words[-1]["end"] == pytest.approx(segment["end"], abs=1e-3)
        assert all(w["interpolated"] for w in words)
        assert all(a["end"] <= b["start"] + 1e-6 for a, b in zip(words, words[1:], strict=False))
    # A second call reuses the finished sample.
    mtime = sample.video.stat().st_mtime_ns
    assert make_demo_sample(tmp_path, sentences).video.stat().st_mtime_ns == mtime
