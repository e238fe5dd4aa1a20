from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Bound, Section


class TranscribeConfig(Section):
    precedence: tuple[Literal["import", "asr"], ...] = Field(
        ("import", "asr"), min_length=1,
        description="try these sources in order; drop 'asr' to never run a model, drop 'import' to always",
    )
    transcripts_dir: str | None = Field(None, description="folder of <video_id>.json/.vtt/.srt transcripts")
    import_formats: tuple[Literal["json", "vtt", "srt"], ...] = Field(
        ("json", "vtt", "srt"), min_length=1, description="importable file types, preferred first"
    )
    # ASR (extra `asr`): WhisperX = faster-whisper (CTranslate2) + VAD + wav2vec2 forced alignment.
    model: str = Field("large-v3", description="faster-whisper model name or local CTranslate2 folder")
    model_dir: str | None = Field(None, description="where model weights are cached; None = HF cache")
    align_model: str | None = Field(None, description="wav2vec2 CTC model id/path; None = WhisperX default")
    compute_type: str = Field("auto", description="auto: float16 on cuda, int8 on cpu")
    device: str = Field("auto", pattern="^(auto|cpu|cuda)$")
    batch_size: int = Field(16, ge=1)
    beam_size: int = Field(5, ge=1)
    cpu_threads: int = Field(0, ge=0, description="CTranslate2 CPU threads; 0 = all cores")
    language: str | None = Field("en", description="None = auto-detect per video")
    detect_language: bool = Field(
        True, description="with a fixed language, still detect the spoken one to flag mismatches"
    )
    vad_method: Literal["pyannote", "silero"] = Field("pyannote", description="pyannote ships with WhisperX")
    vad_onset: float = Field(0.5, gt=0, lt=1)
    vad_offset: float = Field(0.363, gt=0, lt=1)
    chunk_size_s: int = Field(30, ge=1, le=30, description="longest speech chunk fed to Whisper")
    loop_max_ngram: int = Field(8, ge=1, description="longest phrase checked for hallucination loops")
    # Per-segment repairs (in the hash: they change the written transcript, not a stored value).
    loop_min_repeats: int = Field(
        5, ge=2, description="a phrase repeated back to back this many times is a hallucination loop: "
        "every repeat after the first is removed, a segment left empty is dropped",
    )
    max_segment_words_per_s: float = Field(
        12.0, gt=0, description="a segment faster than this is dropped as mistimed or hallucinated "
        "(narration runs ~2-4 words/s; fast speech stays under ~7)",
    )
    # Guards: each is a check named like its field; the value is stored, so refilter can re-decide.
    n_words: Bound = Field(Bound(min=1), description="no speech left below this")
    narration_kept: Bound = Field(
        Bound(min=0.5), description="fraction of the narration's words left after dropping bad segments and loops"
    )
    loop_repeats: Bound = Field(Bound(max=4), description="one phrase repeated back to back, after loop removal")
    time_overrun_s: Bound = Field(
        Bound(), description="seconds past the media end, measured before clamping; no bound by default "
        "(segments past the end are dropped per segment and count against narration_kept)",
    )
    word_order_violations: Bound = Field(Bound(max=0.05), description="fraction of overlapping/unordered words")
    mean_word_confidence: Bound = Field(Bound(min=0.3), description="mean alignment score of aligned words")
