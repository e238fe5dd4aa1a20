"""`tune` and `sample`: the reference CogVideoX tuning (TPT then P2FT) and sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ophora_data.commands.common import EXIT_STAGE_FAILED, EXIT_USAGE, ConfigFile, Sets, console, fail
from ophora_data.config import ConfigError, resolve_config

Device = Annotated[str, typer.Option(help="auto (a CUDA GPU), cuda, or cpu for smoke runs with tiny models")]


def tune(
    out: Annotated[Path, typer.Option("--out", "-o", help="output dir: checkpoints/, final/, validation/, cache/")],
    config: ConfigFile = None,
    set_: Sets = None,
    phase: Annotated[str | None, typer.Option(help="tpt (all clips) or p2ft (privacy subset)")] = None,
    data: Annotated[str | None, typer.Option(help="release dir, Hub dataset id, or trainer export dir")] = None,
    resume: Annotated[str | None, typer.Option(help="'latest' or a checkpoint-<step> folder")] = None,
    device: Device = "auto",
) -> None:
    """Fine-tune CogVideoX on a release: `-c configs/tune_tpt.yaml`, then `-c configs/tune_p2ft.yaml`."""
    from ophora_data.tuning.errors import TuningError
    from ophora_data.tuning.train import train

    extra = [f"tune.phase={phase}"] if phase else []
    extra += [f"tune.data={data}"] if data else []
    try:
        cfg = resolve_config(None, config, (set_ or []) + extra).tune
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        result = train(cfg, out, device, resume)
    except TuningError as exc:
        fail(str(exc), EXIT_STAGE_FAILED)
    console.print(
        f"tune {cfg.phase}: {result.steps} steps, last loss {result.last_loss:.4f}; "
        f"weights in {result.final_transformer}",
        highlight=False,
    )


def sample(
    model: Annotated[str, typer.Option(help="CogVideoX pipeline: Hub id or local path")],
    prompts: Annotated[Path, typer.Option(help="prompts: .txt (one per line) or .csv (e.g. Cataract-1K format)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder (one mp4 + JSON per prompt)")],
    transformer: Annotated[str | None, typer.Option(help="tuned transformer (a tune --out dir)")] = None,
    column: Annotated[str | None, typer.Option(help="CSV column with the prompt (default: caption prompt)")] = None,
    guidance_scale: float = 6.0,
    steps: int = 50,
    frames: int = 49,
    fps: float = 8.0,
    height: int = 480,
    width: int = 720,
    seed: int = 42,
    dtype: Annotated[str, typer.Option(help="float32, float16 or bfloat16 (GPU only)")] = "bfloat16",
    batch: int = 1,
    device: Device = "auto",
) -> None:
    """Render prompts with a (tuned) CogVideoX pipeline: one mp4 and a JSON of its settings per prompt."""
    from ophora_data.tuning.errors import TuningError
    from ophora_data.tuning.prompts import read_prompts
    from ophora_data.tuning.sample import SampleSettings
    from ophora_data.tuning.sample import sample as run_sample

    settings = SampleSettings(model, guidance_scale, steps, frames, fps, height, width, seed, dtype, batch, transformer)
    try:
        written = run_sample(read_prompts(prompts, column), settings, out, device)
    except TuningError as exc:
        fail(str(exc), EXIT_USAGE if "column" in str(exc) or "prompt file" in str(exc) else EXIT_STAGE_FAILED)
    console.print(f"sample: wrote {len(written)} videos to {out}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("tune")(tune)
    app.command("sample")(sample)
