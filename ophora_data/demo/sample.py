"""Build the demo's narrated synthetic surgery video and its transcript sidecar, at run time."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

from ophora_data.demo.narration import DEMO_SENTENCES, SpokenSentence, synthesise, whisperx_transcript
from ophora_data.demo.video import TextOverlay, render_video
from ophora_data.run.atomic import atomic_write_json

SAMPLE_NAME = "ophora_demo_case"


@dataclass(frozen=True)
class DemoSample:
    video: Path
    transcript: Path


def patient_label(spoken: list[SpokenSentence]) -> tuple[TextOverlay, ...]:
    """A burned-in patient label during the fifth sentence, as recorders stamp it on real footage:
    `privacy` must blur it, and that clip leaves the strict subset (the Ophora-28K analogue)."""
    if len(spoken) < 5:
        return ()
    sentence = spoken[4]
    return (TextOverlay("PT 4687  2024-03-18  00:01:23", sentence.start - 0.3, sentence.end + 0.3),)


def make_demo_sample(folder: Path, sentences: tuple[str, ...] = DEMO_SENTENCES) -> DemoSample:
    """Reuse a finished sample; otherwise synthesise narration, render video, write the sidecar."""
    folder.mkdir(parents=True, exist_ok=True)
    sample = DemoSample(folder / f"{SAMPLE_NAME}.mp4", folder / f"{SAMPLE_NAME}.json")
    if sample.video.exists() and sample.transcript.exists():
        return sample
    wav = folder / f"{SAMPLE_NAME}.wav"
    spoken = synthesise(sentences, wav)
    with wave.open(str(wav), "rb") as handle:
        duration = handle.getnframes() / handle.getframerate()
    partial = folder / f".{SAMPLE_NAME}.partial.mp4"
    render_video(wav, partial, duration, patient_label(spoken))
    wav.unlink()
    # The sidecar is written before the video's rename: a finished video implies its transcript.
    atomic_write_json(sample.transcript, whisperx_transcript(spoken))
    partial.replace(sample.video)
    return sample
