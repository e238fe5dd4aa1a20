"""WhisperX behind a small adapter (extra `asr`): faster-whisper ASR, VAD chunking, wav2vec2 alignment.

Nothing heavy is imported at module import; `load()` imports WhisperX and loads the Whisper
model (and the aligner of the configured language) once per worker. Offline by design:
- VAD: the pyannote model bundled inside the WhisperX wheel (silero would fetch via torch.hub);
- sentence splitting inside `whisperx.align`: NLTK's punkt data when installed, otherwise a
  minimal punkt parameter set written to the run's cache, so WhisperX never tries to download it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ophora_data.config.transcribe import TranscribeConfig
from ophora_data.transcripts.json_formats import normalise_language, parse_json_transcript
from ophora_data.transcripts.model import Transcript

ASR_EXTRA_HINT = "pip install 'ophora-data[asr]'"
SAMPLE_RATE = 16_000
_REQUIRED_MODULES = ("whisperx", "faster_whisper", "ctranslate2", "torch", "nltk")
# Abbreviations a sentence must not end at; enough for narration when the real punkt data is absent.
_MINIMAL_ABBREVIATIONS = ("dr", "mr", "mrs", "ms", "prof", "vs", "etc", "e.g", "i.e", "approx", "fig", "st")


class AsrUnavailable(RuntimeError):
    """ASR cannot run: missing extra, unloadable model or aligner; the message says what to do."""


@dataclass(frozen=True)
class AsrOutput:
    transcript: Transcript
    detected_language: str | None


def missing_asr_modules() -> list[str]:
    return [name for name in _REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise AsrUnavailable("transcribe.device is cuda but no CUDA device is available (use auto or cpu)")
    return device


def resolve_compute_type(compute_type: str, device: str) -> str:
    """auto: float16 on a GPU, int8 on CPU (faster-whisper's fast CPU path)."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


def ensure_offline_punkt(data_dir: Path, punkt_language: str) -> None:
    """Make `nltk.data.load('tokenizers/punkt_tab/<lang>.pickle')` succeed without a download.

    The folder is appended to NLTK's search path, so real punkt data, when installed, wins.
    """
    import nltk

    folder = data_dir / "tokenizers" / "punkt_tab" / punkt_language
    if not (folder / "abbrev_types.txt").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("collocations.tab", "sent_starters.txt", "ortho_context.tab"):
            (folder / name).write_text("", encoding="utf-8")
        (folder / "abbrev_types.txt").write_text("\n".join(_MINIMAL_ABBREVIATIONS) + "\n", encoding="utf-8")
    if str(data_dir) not in nltk.data.path:
        nltk.data.path.append(str(data_dir))


def _looks_like_path(model: str) -> bool:
    """A local folder rather than a model name / Hub id: checked before a slow, doomed Hub lookup."""
    return model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().exists()


class WhisperXAsr:
    """Transcribe + align a 16 kHz mono float32 waveform; one instance per worker."""

    def __init__(self, config: TranscribeConfig, cache_dir: Path) -> None:
        self.config = config
        self.cache_dir = cache_dir
        self.device = "cpu"
        self.compute_type = config.compute_type
        self._whisperx: Any = None
        self._pipeline: Any = None
        self._aligners: dict[str, Any] = {}

    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def model_revision(self) -> str:
        try:
            return f"whisperx {importlib.metadata.version('whisperx')}"
        except importlib.metadata.PackageNotFoundError:
            return "whisperx unknown"

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def load(self) -> None:
        missing = missing_asr_modules()
        if missing:
            raise AsrUnavailable(f"ASR needs {', '.join(missing)} (not installed): {ASR_EXTRA_HINT}")
        cfg = self.config
        if _looks_like_path(cfg.model) and not Path(cfg.model).expanduser().is_dir():
            raise AsrUnavailable(f"ASR model folder not found: {cfg.model} (transcribe.model)")
        import whisperx

        self._whisperx = whisperx
        self.device = resolve_device(cfg.device)
        self.compute_type = resolve_compute_type(cfg.compute_type, self.device)
        try:
            self._pipeline = whisperx.load_model(
                cfg.model, self.device, compute_type=self.compute_type, language=cfg.language,
                vad_method=cfg.vad_method,
                vad_options={"vad_onset": cfg.vad_onset, "vad_offset": cfg.vad_offset, "chunk_size": cfg.chunk_size_s},
                asr_options={"beam_size": cfg.beam_size}, download_root=cfg.model_dir,
                threads=cfg.cpu_threads or os.cpu_count() or 1,
            )
        except Exception as exc:  # noqa: BLE001 - any load failure means the stage cannot transcribe
            raise AsrUnavailable(
                f"could not load ASR model {cfg.model!r} on {self.device} ({self.compute_type}): "
                f"{type(exc).__name__}: {str(exc)[:300]} - set transcribe.model to a local CTranslate2 "
                "folder when offline"
            ) from exc
        if cfg.language:
            self._aligner(normalise_language(cfg.language) or cfg.language)

    @property
    def multilingual(self) -> bool:
        return bool(self._pipeline.model.model.is_multilingual)

    def _aligner(self, language: str) -> tuple[Any, Any] | None:
        """The wav2vec2 aligner of a language, loaded once; None when WhisperX has none for it."""
        if language not in self._aligners:
            from whisperx.utils import PUNKT_LANGUAGES

            ensure_offline_punkt(self.cache_dir / "nltk_data", PUNKT_LANGUAGES.get(language, "english"))
            try:
                self._aligners[language] = self._whisperx.load_align_model(
                    language, self.device, model_name=self.config.align_model, model_dir=self.config.model_dir)
            except ValueError as exc:
                if self.config.align_model is not None or "No default align-model" not in str(exc):
                    raise AsrUnavailable(f"could not load alignment model for {language!r}: {exc}") from exc
                self._aligners[language] = None  # words will carry interpolated times, marked as such
            except Exception as exc:  # noqa: BLE001 - e.g. weights not downloadable offline
                raise AsrUnavailable(f"could not load alignment model for {language!r}: "
                                     f"{type(exc).__name__}: {str(exc)[:300]}") from exc
        return self._aligners[language]

    def _language(self, audio: np.ndarray) -> tuple[str, str | None]:
        """(language to decode with, detected language or None)."""
        detected = None
        if self.multilingual and (self.config.language is None or self.config.detect_language):
            detected = normalise_language(self._pipeline.detect_language(audio))
        if not self.multilingual:
            return "en", None  # English-only (".en") models decode English whatever is configured
        return normalise_language(self.config.language) or detected or "en", detected

    def transcribe(self, audio: np.ndarray) -> AsrOutput:
        if not self.loaded:
            self.load()
        if audio.size < SAMPLE_RATE // 10:  # < 0.1 s: nothing for VAD or Whisper to work on
            return AsrOutput(Transcript((), self.config.language, "asr", self.model_name), None)
        language, detected = self._language(audio)
        result = self._pipeline.transcribe(audio, batch_size=self.config.batch_size, language=language,
                                           chunk_size=self.config.chunk_size_s)
        segments = [s for s in result["segments"] if str(s.get("text") or "").strip()]
        aligner = self._aligner(language) if segments else None
        if aligner is not None:
            model, metadata = aligner
            segments = self._whisperx.align(segments, model, metadata, audio, self.device,
                                            return_char_alignments=False)["segments"]
        transcript = parse_json_transcript({"segments": segments, "language": language}, self.model_name)
        extra = {"aligned": aligner is not None, "detected_language": detected, "device": self.device,
                 "compute_type": self.compute_type, "model_revision": self.model_revision}
        return AsrOutput(replace(transcript, source="asr", extra=extra), detected)
