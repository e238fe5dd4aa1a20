"""Build the demo's narrated synthetic surgery video and its transcript sidecar, at run time."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

from ophora_data.demo.narration import DEMO_SENTENCES, synthesise, whisperx_transcript
from ophora_data.demo.video import render_video
from ophora_data.run.atomic import atomic_write_json

SAMPLE_NAME = "ophora_demo_case"


@dataclass(frozen=True)
class DemoSample:
    video: Path
    transcript: Path


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
    render_video(wav, partial, duration)
    wav.unlink()
    # The sidecar is written before the video's rename: a finished video implies its transcript.
    atomic_write_json(sample.transcript, whisperx_transcript(spoken))
    partial.replace(sample.video)
    return sample
