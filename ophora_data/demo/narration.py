"""Synthesise the demo narration with espeak-ng, one sentence at a time, so timings are exact."""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ophora_data.media.runner import MediaError

# A short narrated cataract case: procedural steps plus one line of chit-chat, as in real videos.
DEMO_SENTENCES: tuple[str, ...] = (
    "Now I make a clear corneal incision at the temporal limbus with the keratome.",
    "Then we inject viscoelastic into the anterior chamber to keep it formed.",
    "Next I start the capsulorhexis with the cystotome and complete it with the forceps.",
    "Thanks for watching, and please subscribe to the channel.",
    "Now the phaco tip is used to sculpt and remove the nucleus.",
    "Finally we insert the intraocular lens into the capsular bag.",
)
GAP_S = 0.9
LEAD_S = 0.5


@dataclass(frozen=True)
class SpokenSentence:
    text: str
    start: float
    end: float


def _speak(text: str, path: Path) -> tuple[np.ndarray, int]:
    if shutil.which("espeak-ng") is None:
        raise MediaError("espeak-ng not found: install it (Debian/Ubuntu: apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    with wave.open(str(path), "rb") as handle:
        rate = handle.getframerate()
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    return samples, rate


def _trim(samples: np.ndarray, threshold: int = 300) -> np.ndarray:
    """Drop espeak's leading/trailing near-silence so a sentence's span is its speech."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def synthesise(sentences: tuple[str, ...], wav_path: Path) -> list[SpokenSentence]:
    """Write one wav of all sentences separated by known silences; return each sentence's span."""
    pieces: list[np.ndarray] = []
    spoken: list[SpokenSentence] = []
    rate = 22050
    cursor = 0
    for index, text in enumerate(sentences):
        samples, rate = _speak(text, wav_path.with_suffix(f".{index}.wav"))
        wav_path.with_suffix(f".{index}.wav").unlink()
        samples = _trim(samples)
        gap = np.zeros(int((LEAD_S if index == 0 else GAP_S) * rate), dtype=np.int16)
        pieces.extend([gap, samples])
        cursor += gap.size
        spoken.append(SpokenSentence(text, cursor / rate, (cursor + samples.size) / rate))
        cursor += samples.size
    pieces.append(np.zeros(int(LEAD_S * rate), dtype=np.int16))
    with wave.open(str(wav_path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.concatenate(pieces).tobytes())
    return spoken


def whisperx_transcript(spoken: list[SpokenSentence]) -> dict:
    """WhisperX-format transcript; word times are interpolated inside each sentence (and say so)."""
    segments = []
    for sentence in spoken:
        words = sentence.text.split()
        weights = np.array([len(w) + 1 for w in words], dtype=float)
        edges = sentence.start + np.concatenate([[0], np.cumsum(weights)]) / weights.sum() * (
            sentence.end - sentence.start
        )
        segments.append(
            {
                "start": round(sentence.start, 3),
                "end": round(sentence.end, 3),
                "text": sentence.text,
                "words": [
                    {
                        "word": w,
                        "start": round(float(a), 3),
                        "end": round(float(b), 3),
                        "score": 1.0,
                        "interpolated": True,
                    }
                    for w, a, b in zip(words, edges[:-1], edges[1:], strict=True)
                ],
            }
        )
    return {
        "language": "en",
        "segments": segments,
        "source": "espeak-ng synthesis; sentence spans exact, word times interpolated",
    }
