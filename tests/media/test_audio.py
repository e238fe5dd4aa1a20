"""Audio extraction: any container/rate/layout -> 16 kHz mono float32 of the right length."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ophora_data.media.audio import SAMPLE_RATE, audio_argv, load_audio, stream_audio
from ophora_data.media.runner import MediaError
from tests.conftest import MakeVideo


def test_jfk_flac_44k_stereo_loads_as_16k_mono(realdata: Path) -> None:
    audio = load_audio(realdata / "asr" / "jfk_faster_whisper.flac")
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size == pytest.approx(11.0 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.02)
    assert 0.05 < float(np.abs(audio).max()) < 1.5  # real speech, not silence or garbage


def test_8khz_float_wav_is_resampled_to_16k(realdata: Path) -> None:
    audio = load_audio(realdata / "asr" / "whisperx_pr1119_example_8khz.wav", expected_duration_s=8.4)
    assert audio.dtype == np.float32
    assert audio.size == pytest.approx(8.4 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.02)
    assert float(np.abs(audio).max()) > 0.05


def test_video_audio_track_only(make_video: MakeVideo) -> None:
    video = make_video("tone.mp4", duration=2.0)
    audio = load_audio(video, expected_duration_s=2.0)
    assert audio.size == pytest.approx(2.0 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.05)
    # A 440 Hz sine: the spectrum peaks there after resampling and downmixing.
    spectrum = np.abs(np.fft.rfft(audio[:SAMPLE_RATE]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)
    assert "-vn" in audio_argv(video)  # frames are never decoded


def test_chunks_and_unknown_duration_growth(tmp_path: Path) -> None:
    wav = tmp_path / "long.wav"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=5",
                    "-ar", "44100", "-ac", "2", str(wav)], check=True)
    chunks = list(stream_audio(wav, chunk_s=2.0))
    assert [c.size for c in chunks[:2]] == [2 * SAMPLE_RATE, 2 * SAMPLE_RATE]
    assert sum(c.size for c in chunks) == pytest.approx(5 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.02)
    # Understated duration: the buffer grows, nothing is lost.
    assert load_audio(wav, expected_duration_s=1.0).size == sum(c.size for c in chunks)
    assert load_audio(wav, max_duration_s=1.5).size == pytest.approx(1.5 * SAMPLE_RATE, abs=10)


def test_stopping_early_leaves_no_ffmpeg_running(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=d=20", str(wav)],
                   check=True)
    stream = stream_audio(wav, chunk_s=0.5)
    next(stream)
    assert "ffmpeg" in _children()
    stream.close()  # runs the generator's cleanup, which kills and reaps ffmpeg
    assert "ffmpeg" not in _children()


def _children() -> list[str]:
    """Names of this process's child processes (also zombies: a reaped child is gone)."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    names = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            ppid = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid():
            names.append(comm)
    return names


def test_video_without_audio_says_so(make_video: MakeVideo) -> None:
    with pytest.raises(MediaError, match="no audio stream"):
        load_audio(make_video("silent.mp4", duration=1.0, audio=False))


def test_not_media_and_missing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError, match="invalid data"):
        load_audio(junk)
    with pytest.raises(MediaError, match="file not found"):
        load_audio(tmp_path / "missing.mp4")
