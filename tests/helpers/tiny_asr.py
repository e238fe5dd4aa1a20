"""Tiny ASR models built offline for plumbing tests: a CTranslate2 Whisper and a wav2vec2 CTC aligner.

The Whisper is a real `WhisperForConditionalGeneration` (d_model 64, 2+2 layers) with the special-token
layout of Whisper's English-only models (CTranslate2 4.8 did not treat a tiny multilingual layout as
multilingual, so language detection is exercised with fakes instead), converted with CTranslate2's own
converter, so the real faster-whisper / WhisperX loading and decoding code runs on it. Its decoder is wired so that its
output is deterministic whatever the audio: every decoder block's output projections are zero, so
the next token depends only on the position embedding, which points at a chosen token. It therefore
"hears" `TINY_WORDS` in every speech chunk, in English. Tests assert structure and
timing, never what the words mean.

The aligner is a random-weight `Wav2Vec2ForCTC` with a character vocabulary: CTC forced alignment
of known text always finds a path, which is all the plumbing needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY_WORDS: tuple[str, ...] = ("now", "lens", "incision")
D_MODEL = 64
VOCAB_SIZE = 51864  # English-only Whisper (".en") layout: CTranslate2 treats it as monolingual
N_TEXT_TOKENS = 50256  # byte-level BPE tokens before <|endoftext|>
_CHARS = "abcdefghijklmnopqrstuvwxyz'"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (what ByteLevel pre-tokenisation uses)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars), strict=True))


def _language_tokens() -> list[str]:
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    return [f"<|{code}|>" for code in list(LANGUAGES)[:99]]  # the 99 languages before large-v3


def _special_tokens() -> list[str]:
    return ["<|endoftext|>", "<|startoftranscript|>", *_language_tokens(), "<|translate|>", "<|transcribe|>",
            "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]


def build_whisper_tokenizer(out_dir: Path) -> dict[str, int]:
    """tokenizer.json with Whisper's ".en" ids (<|endoftext|> = 50256, <|notimestamps|> = 50362)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {char: index for index, char in enumerate(_bytes_to_unicode().values())}
    for word in TINY_WORDS:
        vocab["Ġ" + word] = len(vocab)
    filler = 0
    while len(vocab) < N_TEXT_TOKENS:  # unreachable placeholder tokens keep the real ids in place
        vocab[f"zz{filler}"] = len(vocab)
        filler += 1
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = _special_tokens()
    tokenizer.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                   additional_special_tokens=specials[1:])
    fast.save_pretrained(out_dir)
    ids = {token: tokenizer.token_to_id(token) for token in specials}
    assert ids["<|endoftext|>"] == N_TEXT_TOKENS and ids["<|notimestamps|>"] == 50362, ids
    return {**ids, **{word: vocab["Ġ" + word] for word in TINY_WORDS}}


def _wire_decoder(model: Any, ids: dict[str, int]) -> None:
    """Make the next token a function of position only (see the module docstring)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    decoder = model.model.decoder
    # An English-only model's prompt is <|startoftranscript|> <|notimestamps|>: the token generated
    # after position p is the argmax at p, so position 1 emits the first word.
    plan = {1 + offset: ids[word] for offset, word in enumerate(TINY_WORDS)}
    targets = sorted(set(plan.values()) | {ids["<|endoftext|>"]})
    basis, _ = torch.linalg.qr(torch.randn(D_MODEL, len(targets), generator=generator))
    basis = basis - basis.mean(dim=0, keepdim=True)  # LayerNorm removes the mean: keep directions zero-mean
    direction = {token: basis[:, index] / basis[:, index].norm() for index, token in enumerate(targets)}
    with torch.no_grad():
        embed = decoder.embed_tokens.weight
        embed.normal_(0.0, 0.02, generator=generator)
        for token, vector in direction.items():
            embed[token] = vector
        positions = decoder.embed_positions.weight
        for position in range(positions.shape[0]):
            positions[position] = 30.0 * direction[plan.get(position, ids["<|endoftext|>"])]
        for layer in decoder.layers:
            for linear in (layer.self_attn.out_proj, layer.encoder_attn.out_proj, layer.fc2):
                linear.weight.zero_()
                if linear.bias is not None:
                    linear.bias.zero_()


def build_tiny_whisper(out_dir: Path) -> Path:
    """A CTranslate2 Whisper model directory usable as `transcribe.model`."""
    from ctranslate2.converters import TransformersConverter
    from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    source = out_dir.parent / f"{out_dir.name}-hf"
    ids = build_whisper_tokenizer(source)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(source)
    config = WhisperConfig(
        vocab_size=VOCAB_SIZE, num_mel_bins=80, d_model=D_MODEL, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128,
        max_source_positions=1500, max_target_positions=448, pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|endoftext|>"],
        decoder_start_token_id=ids["<|startoftranscript|>"],
    )
    model = WhisperForConditionalGeneration(config)
    _wire_decoder(model, ids)
    model.generation_config = GenerationConfig(
        suppress_tokens=[], begin_suppress_tokens=[220, ids["<|endoftext|>"]],
        lang_to_id={token: ids[token] for token in _language_tokens()},
        decoder_start_token_id=ids["<|startoftranscript|>"], no_timestamps_token_id=ids["<|notimestamps|>"],
    )
    model.save_pretrained(source)
    TransformersConverter(str(source), copy_files=["tokenizer.json", "preprocessor_config.json"]).convert(
        str(out_dir), force=True
    )
    return out_dir


def build_tiny_aligner(out_dir: Path) -> Path:
    """A random wav2vec2 CTC model + processor directory usable as `transcribe.align_model`."""
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    vocab.update({char: 5 + index for index, char in enumerate(_CHARS)})
    (out_dir / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(str(out_dir / "vocab.json"), word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                         do_normalize=True, return_attention_mask=False)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(out_dir)
    config = Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, conv_dim=(32,) * 7, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, pad_token_id=0,
    )
    Wav2Vec2ForCTC(config).save_pretrained(out_dir)
    return out_dir


def tiny_asr_models(root: Path) -> tuple[Path, Path]:
    """(whisper_dir, aligner_dir) under `root`, built once and reused (a marker says "complete")."""
    whisper, aligner, done = root / "whisper-ct2", root / "aligner", root / ".complete"
    if not done.exists():
        build_tiny_whisper(whisper)
        build_tiny_aligner(aligner)
        done.write_text("ok", encoding="utf-8")
    return whisper, aligner


def speech_video(out: Path, text: str = "Now I make a clear corneal incision. Then we insert the lens.",
                 lead_s: float = 0.6) -> Path:
    """A small mp4 whose audio is espeak-ng speech after `lead_s` of silence (real speech for the VAD)."""
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None:
        import pytest

        pytest.skip("espeak-ng is not installed")
    wav = out.with_suffix(".speech.wav")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=160x120:r=10",
                    "-i", str(wav), "-filter_complex", f"[1:a]adelay={int(lead_s * 1000)}:all=1,apad=pad_dur=0.5[a]",
                    "-map", "0:v", "-map", "[a]", "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(out)], check=True)
    wav.unlink()
    return out
