"""Prompt files for `sample`: plain text (one per line) or CSV (e.g. the Cataract-1K phase prompt format)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ophora_data.tuning.errors import TuningError

CSV_PROMPT_COLUMNS = ("caption prompt", "prompt", "instruction", "text")
CSV_ID_COLUMNS = ("clip id", "clip_id", "id")


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str


def _safe_id(value: str, index: int) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", value.strip()).strip("_")
    return cleaned or f"prompt-{index:04d}"


def read_prompts(path: Path, column: str | None = None) -> list[Prompt]:
    if not path.is_file():
        raise TuningError(f"prompt file not found: {path}")
    if path.suffix.lower() != ".csv":
        lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
        return [Prompt(f"prompt-{i:04d}", text) for i, text in enumerate(t for t in lines if t)]
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = {name.strip().lower(): name for name in reader.fieldnames or []}
        wanted = [column.strip().lower()] if column else [c for c in CSV_PROMPT_COLUMNS if c in fields]
        if not wanted or wanted[0] not in fields:
            raise TuningError(
                f"{path.name} has no column {column or ' / '.join(CSV_PROMPT_COLUMNS)!r}; "
                f"columns: {', '.join(reader.fieldnames or [])}"
            )
        prompt_column = fields[wanted[0]]
        id_column = next((fields[c] for c in CSV_ID_COLUMNS if c in fields), None)
        prompts = []
        for index, row in enumerate(reader):
            text = (row.get(prompt_column) or "").strip()
            if text:
                prompts.append(
                    Prompt(_safe_id(row.get(id_column) or "", index) if id_column else f"prompt-{index:04d}", text)
                )
    if not prompts:
        raise TuningError(f"{path.name}: no prompts")
    return _unique_ids(prompts)


def _unique_ids(prompts: list[Prompt]) -> list[Prompt]:
    """Output files are named by id: repeated ids get their row number appended."""
    seen: set[str] = set()
    unique = []
    for index, prompt in enumerate(prompts):
        name = prompt.id if prompt.id not in seen else f"{prompt.id}-{index:04d}"
        seen.add(name)
        unique.append(Prompt(name, prompt.text))
    return unique
