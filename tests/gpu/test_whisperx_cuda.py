"""WhisperX on CUDA in float16: the tiny CTranslate2 Whisper, pyannote VAD and wav2vec2 alignment on the GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.config import resolve_config
from ophora_data.media.audio import SAMPLE_RATE, load_audio
from ophora_data.models.whisperx_asr import WhisperXAsr
from tests.helpers.tiny_asr import TINY_WORDS, speech_video, tiny_asr_models

pytestmark = pytest.mark.gpu


def asr_for(whisper: Path, aligner: Path, device: str, cache: Path) -> WhisperXAsr:
    sets = [f"transcribe.model={whisper}", f"transcribe.align_model={aligner}", f"transcribe.device={device}",
            "transcribe.compute_type=auto", "transcribe.batch_size=2", "transcribe.language=en"]
    model = WhisperXAsr(resolve_config(None, None, sets).transcribe, cache)
    model.load()
    return model


def test_whisperx_float16_on_cuda_matches_cpu_words(tmp_path: Path, cuda_device: str) -> None:
    pytest.importorskip("whisperx")
    whisper, aligner = tiny_asr_models(tmp_path / "tiny_asr")
    speech = load_audio(speech_video(tmp_path / "speech.mp4"))
    gpu = asr_for(whisper, aligner, cuda_device, tmp_path / "cache-gpu")
    assert (gpu.device, gpu.compute_type) == ("cuda", "float16")  # `auto` picks float16 on a GPU
    transcript = gpu.transcribe(speech).transcript
    assert transcript.extra["device"] == "cuda" and transcript.extra["compute_type"] == "float16"
    assert transcript.extra["aligned"] is True and transcript.segments
    duration = speech.size / SAMPLE_RATE
    for segment in transcript.segments:
        assert [w.word for w in segment.words] == list(TINY_WORDS)  # the wired decoder, decoded in fp16
        assert 0.0 <= segment.start <= segment.end <= duration
    words = transcript.words
    assert all(w.start <= w.end for w in words)
    assert all(np.isfinite([w.start, w.end]).all() and w.score is not None for w in words)
    cpu = asr_for(whisper, aligner, "cpu", tmp_path / "cache-cpu").transcribe(speech).transcript
    assert [[w.word for w in s.words] for s in transcript.segments] == [[w.word for w in s.words]
                                                                        for s in cpu.segments]
    assert gpu.transcribe(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)).transcript.words == []
