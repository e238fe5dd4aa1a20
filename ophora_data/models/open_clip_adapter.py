"""open_clip behind the small `ClipEncoder` protocol (extra `vision`; imported only when loading).

`score.model` is an open_clip architecture name (`ViT-B-16`), an `hf-hub:org/repo` or
`local-dir:/path` id, or the path of an open_clip model-config JSON (registered on the fly,
for custom architectures). `score.pretrained` is a pretrained tag (`openai`) or a local
checkpoint path; it is ignored by open_clip for `hf-hub:`/`local-dir:` ids, which carry
their own weights. Weights are required: random weights are refused, never scored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

VISION_EXTRA_HINT = "pip install 'ophora-data[vision]'"
_SCHEMAS = ("hf-hub:", "local-dir:")
_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt")


class ModelUnavailable(RuntimeError):
    """The model cannot be loaded (missing extra, no weights, unreadable checkpoint)."""


def weights_configured(model: str, pretrained: str | None) -> bool:
    """True when the config names weights: a tag/checkpoint, or a schema id that carries them."""
    return bool(pretrained) or model.startswith(_SCHEMAS)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("score.device is cuda but no CUDA device is available (use auto or cpu)")
    return device


def state_dict_hash(module: Any) -> str:
    """A hash of the fp32 weights themselves: the same for a tag, a hub repo or a copied checkpoint."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return "weights-sha256:" + digest.hexdigest()[:16]


def _import_open_clip() -> tuple[Any, Any]:
    try:
        import open_clip
        import torch
    except ImportError as exc:
        missing = exc.name or "open_clip/torch"
        raise ModelUnavailable(f"the score stage needs open_clip and torch ({missing} is not installed): "
                               f"{VISION_EXTRA_HINT}") from None
    return open_clip, torch


def _architecture(open_clip: Any, model: str) -> str:
    """The open_clip name to build; a model-config JSON path is registered under its file stem."""
    path = Path(model).expanduser()
    if model.endswith(".json"):
        if not path.is_file():
            raise ModelUnavailable(f"score.model {model!r}: model config file not found")
        open_clip.add_model_config(path)
        return path.stem
    return model


def _looks_like_path(pretrained: str) -> bool:
    """A checkpoint path rather than a tag such as `openai` or `laion2b_s34b_b88k`."""
    return "/" in pretrained or pretrained.endswith(_CHECKPOINT_SUFFIXES) or Path(pretrained).expanduser().is_file()


def _display_name(model: str, pretrained: str | None) -> str:
    """`ViT-B-16@openai`; only a checkpoint's file name, so no local path leaks into a release."""
    name = Path(model).stem if model.endswith(".json") else model
    if model.startswith(_SCHEMAS):
        if model.startswith("local-dir:"):
            return "local-dir:" + Path(model.removeprefix("local-dir:")).name
        return name
    if pretrained and _looks_like_path(pretrained):
        return f"{name}@{Path(pretrained).name}"
    return f"{name}@{pretrained}"


class OpenClipEncoder:
    """A loaded open_clip model: preprocessing, image and text encoding, in batches of `batch_size`."""

    def __init__(self, model: Any, preprocess: Any, tokenizer: Any, *, device: str, name: str,
                 revision: str, batch_size: int) -> None:
        self.model = model
        self._preprocess = preprocess
        self._tokenizer = tokenizer
        self.device = device
        self.dtype = next(model.parameters()).dtype
        self.name = name
        self.revision = revision
        self.batch_size = max(1, batch_size)
        self.logit_scale = float(min(model.logit_scale.exp().item(), 100.0))  # CLIP clamps it at 100
        self.cache_key = {"model": name, "revision": revision, "dtype": str(self.dtype), "device": device}

    @classmethod
    def load(cls, model: str, pretrained: str | None, device: str = "auto", batch_size: int = 64) -> OpenClipEncoder:
        if not weights_configured(model, pretrained):
            raise ModelUnavailable(f"no weights configured for {model!r} (set score.pretrained); "
                                   "random weights are never used for scoring")
        open_clip, _ = _import_open_clip()
        if pretrained and not model.startswith(_SCHEMAS) and _looks_like_path(pretrained):
            if not Path(pretrained).expanduser().is_file():
                raise ModelUnavailable(f"score.pretrained checkpoint not found: {pretrained}")
            pretrained = str(Path(pretrained).expanduser())
        architecture = _architecture(open_clip, model)
        target = resolve_device(device)
        try:
            # require_pretrained: open_clip would otherwise fall back to random weights with a warning.
            net, preprocess = open_clip.create_model_from_pretrained(
                architecture, pretrained=None if model.startswith(_SCHEMAS) else pretrained, device="cpu")
            tokenizer = open_clip.get_tokenizer(architecture)
        except Exception as exc:  # noqa: BLE001 - open_clip raises many types; one clear message
            raise ModelUnavailable(f"could not load open_clip model {model!r} (pretrained={pretrained!r}): "
                                   f"{type(exc).__name__}: {exc}. Offline machines need a local checkpoint "
                                   "or a pre-filled Hugging Face cache.") from None
        revision = state_dict_hash(net)  # before any fp16 cast, so CPU and GPU runs record the same hash
        net = net.to(target).eval()
        if target.startswith("cuda"):
            net = net.half()
        return cls(net, preprocess, tokenizer, device=target, name=_display_name(model, pretrained),
                   revision=revision, batch_size=batch_size)

    # ClipEncoder ----------------------------------------------------------------------
    def preprocess(self, frames: np.ndarray | Sequence[Any]) -> Any:
        """Frames (uint8 arrays, gray/RGB/RGBA, or PIL images of any mode) -> (N, 3, S, S) float tensor."""
        import torch
        from PIL import Image

        images = [frame if isinstance(frame, Image.Image) else Image.fromarray(np.asarray(frame))
                  for frame in frames]
        return torch.stack([self._preprocess(image.convert("RGB")) for image in images])

    def encode_images(self, inputs: Sequence[Any]) -> list[np.ndarray]:
        import torch

        if not inputs:
            return []
        pixels = torch.cat(list(inputs))
        chunks = []
        with torch.inference_mode():
            for chunk in pixels.split(self.batch_size):
                chunk = chunk.to(self.device, dtype=self.dtype, non_blocking=True)
                chunks.append(self.model.encode_image(chunk, normalize=True).float().cpu().numpy())
        embeddings = np.concatenate(chunks)
        sizes = np.cumsum([len(x) for x in inputs])[:-1]
        return list(np.split(embeddings, sizes))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        tokens = self._tokenizer(list(texts))
        chunks = []
        with torch.inference_mode():
            for chunk in tokens.split(self.batch_size):
                chunks.append(self.model.encode_text(chunk.to(self.device), normalize=True).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
