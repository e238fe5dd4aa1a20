"""The WhisperX adapter on tiny local models: the real load, VAD, decode and alignment code paths."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ophora_data.config import resolve_config
from ophora_data.config.transcribe import TranscribeConfig
from ophora_data.media.audio import SAMPLE_RATE, load_audio
from ophora_data.models import whisperx_asr
from ophora_data.models.whisperx_asr import AsrUnavailable, WhisperXAsr, resolve_compute_type
from tests.helpers.tiny_asr import TINY_WORDS, speech_video, tiny_asr_models


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_asr_models(tmp_path_factory.getbasetemp() / "tiny_asr")


def _config(whisper: Path | str, aligner: Path | str | None, *extra: str) -> TranscribeConfig:
    sets = [f"transcribe.model={whisper}", "transcribe.batch_size=2", "transcribe.cpu_threads=2", *extra]
    if aligner is not None:
        sets.append(f"transcribe.align_model={aligner}")
    return resolve_config(None, None, sets).transcribe


@pytest.fixture(scope="module")
def asr(tiny_models: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> WhisperXAsr:
    model = WhisperXAsr(_config(*tiny_models), tmp_path_factory.mktemp("asr-cache"))
    model.load()
    return model


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    video = speech_video(tmp_path_factory.mktemp("speech") / "speech.mp4")
    return load_audio(video)


def test_transcribe_and_align_give_ordered_word_timings(asr: WhisperXAsr, speech: np.ndarray,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import nltk

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("WhisperX tried to download NLTK data")

    monkeypatch.setattr(nltk, "download", no_download)
    output = asr.transcribe(speech)
    transcript = output.transcript
    assert transcript.source == "asr" and transcript.language == "en"
    assert transcript.extra["aligned"] is True and transcript.extra["compute_type"] == "int8"
    assert transcript.segments, "the VAD found no speech in espeak-ng speech"
    duration = speech.size / SAMPLE_RATE
    for segment in transcript.segments:
        # The tiny decoder is wired to "hear" the same words in every chunk (see tests/helpers/tiny_asr.py).
        assert [w.word for w in segment.words] == list(TINY_WORDS)
        assert 0.0 <= segment.start <= segment.end <= duration
    words = transcript.words
    assert all(w.start <= w.end for w in words)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(words, words[1:], strict=False))
    assert all(w.score is not None and 0.0 <= w.score <= 1.0 and not w.interpolated for w in words)
    assert words[0].start >= 0.4  # the 0.6 s of leading silence is not speech


def test_silence_has_no_speech(asr: WhisperXAsr) -> None:
    assert asr.transcribe(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)).transcript.words == []
    assert asr.transcribe(np.zeros(100, dtype=np.float32)).transcript.segments == ()


def test_unloadable_model_names_the_problem(tmp_path: Path) -> None:
    model = WhisperXAsr(_config(tmp_path / "no-such-model", None), tmp_path)
    with pytest.raises(AsrUnavailable, match="ASR model folder not found"):
        model.load()


def test_missing_extra_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisperx_asr, "missing_asr_modules", lambda: ["whisperx"])
    with pytest.raises(AsrUnavailable, match=r"pip install 'ophora-data\[asr\]'"):
        WhisperXAsr(_config("large-v3", None), tmp_path).load()


def test_compute_type_follows_the_device() -> None:
    assert resolve_compute_type("auto", "cuda") == "float16"
    assert resolve_compute_type("auto", "cpu") == "int8"
    assert resolve_compute_type("float32", "cpu") == "float32"


def _fake_pipeline(multilingual: bool, detected: str) -> SimpleNamespace:
    return SimpleNamespace(model=SimpleNamespace(model=SimpleNamespace(is_multilingual=multilingual)),
                           detect_language=lambda audio: detected)


@pytest.mark.parametrize(("language", "detect", "multilingual", "expected"), [
    ("en", True, True, ("en", "de")),     # fixed language, detection still flags German speech
    ("en", False, True, ("en", None)),
    (None, True, True, ("de", "de")),     # auto: decode in the detected language
    ("de", True, False, ("en", None)),    # English-only models always decode English
])
def test_language_choice(tmp_path: Path, language: str | None, detect: bool, multilingual: bool,
                         expected: tuple[str, str | None]) -> None:
    extra = [f"transcribe.language={language if language else 'null'}", f"transcribe.detect_language={detect}"]
    model = WhisperXAsr(_config("m", None, *extra), tmp_path)
    model._pipeline = _fake_pipeline(multilingual, "de")
    assert model._language(np.zeros(10, dtype=np.float32)) == expected
