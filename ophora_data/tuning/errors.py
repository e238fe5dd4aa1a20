from __future__ import annotations


class TuningError(RuntimeError):
    """Tuning or sampling cannot run; the message says what to do."""


def require_tune_extra() -> None:
    try:
        import diffusers  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise TuningError(
            f"tuning needs the 'tune' extra ({exc.name} is missing): pip install -c constraints.txt 'ophora-data[tune]'"
        ) from exc


def resolve_device(device: str) -> str:
    """`auto` means a CUDA GPU; CPU only when asked for explicitly (smoke runs with tiny models)."""
    import torch

    if device == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise TuningError("--device cuda was asked for but no CUDA GPU is visible")
    raise TuningError(
        "no CUDA GPU found: CogVideoX tuning and sampling need a GPU (the paper used 16; one 24-80 GB GPU "
        "works with LoRA). Use --device cpu for a smoke run with a tiny model."
    )
