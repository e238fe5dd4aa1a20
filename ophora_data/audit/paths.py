"""Paths stored in rows are relative to the run directory (so a run can move) or absolute."""

from __future__ import annotations

from pathlib import Path

from ophora_data.run.workdir import RunDir


def run_path(run: RunDir, value: str | Path | None) -> Path | None:
    if value is None or str(value) == "":
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else run.root / path
