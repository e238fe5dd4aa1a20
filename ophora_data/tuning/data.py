"""Training data: a release (local dir or Hub id, config `default` or `strict`) or a trainer export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ophora_data.config.tune import TuneConfig
from ophora_data.tuning.errors import TuningError
from ophora_data.tuning.video import decode_clip, resize_crop


def is_trainer_export(data: str) -> bool:
    return (Path(data) / "videos.txt").is_file() and (Path(data) / "prompts.txt").is_file()


def _video_source(value: Any) -> bytes | str | Path:
    """The encoded clip behind a `datasets` value (bytes inline in WebDataset shards, or a path)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict):
        return value.get("bytes") or value["path"]
    raise TuningError(f"unsupported video value of type {type(value).__name__}")


def load_release(data: str, subset: str, streaming: bool):
    """`load_dataset` on a release dir or Hub id; videos stay encoded until a worker decodes them."""
    from datasets import Video, load_dataset

    try:
        dataset = load_dataset(data, subset, split="train", streaming=streaming)
    except Exception as exc:  # datasets raises many types; the user needs the path and config
        raise TuningError(f"cannot load release {data!r} config {subset!r}: {exc}") from exc
    if "mp4" not in (dataset.features or {}) or "txt" not in dataset.features:
        raise TuningError(f"release {data!r} has no mp4/txt columns (found {list(dataset.features or {})})")
    return dataset.cast_column("mp4", Video(decode=False))


def _export_rows(data: str) -> list[dict[str, Any]]:
    root = Path(data)
    videos = [v for v in (root / "videos.txt").read_text().splitlines() if v.strip()]
    prompts = [p for p in (root / "prompts.txt").read_text().splitlines() if p.strip()]
    if len(videos) != len(prompts):
        raise TuningError(f"{root}: videos.txt has {len(videos)} lines but prompts.txt has {len(prompts)}")
    pairs = zip(videos, prompts, strict=True)
    return [{"__key__": Path(v).stem, "mp4": {"path": str(root / v)}, "txt": p} for v, p in pairs]


def prepare_sample(row: dict[str, Any], cfg: TuneConfig) -> dict[str, Any]:
    video = decode_clip(_video_source(row["mp4"]), cfg.frames, cfg.fps)
    return {"key": row["__key__"], "prompt": row["txt"].strip(), "video": resize_crop(video, cfg.height, cfg.width)}


def make_dataset(cfg: TuneConfig):
    """A torch dataset of {key, prompt, video (F, C, H, W) in [-1, 1]}; iterable when streaming."""
    import torch.utils.data as tud

    if not cfg.data:
        raise TuningError("no training data: pass --data RELEASE_DIR_OR_HUB_ID (or a trainer export dir)")
    rows = _export_rows(cfg.data) if is_trainer_export(cfg.data) else load_release(cfg.data, cfg.subset, cfg.streaming)

    class MapClips(tud.Dataset):
        def __len__(self) -> int:
            return len(rows)

        def __getitem__(self, index: int) -> dict[str, Any]:
            return prepare_sample(rows[index], cfg)

    class StreamClips(tud.IterableDataset):
        def __iter__(self) -> Iterator[dict[str, Any]]:
            for row in rows:
                yield prepare_sample(row, cfg)

    return StreamClips() if cfg.streaming and not is_trainer_export(cfg.data) else MapClips()


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    import torch

    # Tensors first: accelerate infers the batch size from the first value of the batch dict.
    tensors = {
        name: torch.stack([s[name] for s in samples])
        for name in ("video", "latent_params", "prompt_embeds")
        if name in samples[0]
    }
    return {**tensors, "key": [s["key"] for s in samples], "prompt": [s["prompt"] for s in samples]}
