from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Bound, Section


class TranscribeConfig(Section):
    precedence: tuple[Literal["import", "asr"], ...] = Field(
        ("import", "asr"), description="try these sources in order; drop 'asr' to never run a model"
    )
    transcripts_dir: str | None = Field(None, description="folder of <video_id>.json/.vtt/.srt transcripts")
    model: str = Field("large-v3", description="faster-whisper model name or local CTranslate2 path")
    align_model: str | None = Field(None, description="wav2vec2 CTC model id/path; None = WhisperX default")
    compute_type: str = Field("auto", description="auto: float16 on cuda, int8 on cpu")
    device: str = Field("auto", pattern="^(auto|cpu|cuda)$")
    batch_size: int = Field(16, ge=1)
    language: str | None = Field("en", description="None = auto-detect")
    vad_onset: float = 0.5
    vad_offset: float = 0.363
    chunk_size_s: int = Field(30, ge=1)
    # Guards: each is a check with a value; bounds are re-decidable.
    loop_max_repeats: Bound = Bound(max=4)
    mean_word_confidence: Bound = Bound(min=0.3)
    min_words: Bound = Bound(min=1)
