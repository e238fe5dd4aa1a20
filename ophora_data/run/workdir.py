"""The run directory: everything a run knows lives under one --workdir."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import yaml

from ophora_data.config import Config, config_to_yaml, resolve_config, stable_hash
from ophora_data.run.atomic import atomic_write_text
from ophora_data.run.tables import Table

RESOLVED_CONFIG = "config.resolved.yaml"


class RunDir:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()

    # Layout (cached: `root` never changes, and per-row callers such as probe's item listing ask
    # for these thousands of times) ------------------------------------------------------
    @cached_property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    @cached_property
    def raw_dir(self) -> Path:
        return self.root / "media" / "raw"

    @cached_property
    def clips_dir(self) -> Path:
        return self.root / "media" / "clips"

    @cached_property
    def redacted_dir(self) -> Path:
        return self.root / "media" / "redacted"

    @cached_property
    def transcripts_dir(self) -> Path:
        return self.root / "transcripts"

    @cached_property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @cached_property
    def release_dir(self) -> Path:
        return self.root / "release"

    def raw_video(self, video_id: str) -> Path:
        return self.raw_dir / f"{video_id}.mp4"

    def clip(self, clip_id: str) -> Path:
        return self.clips_dir / f"{clip_id}.mp4"

    def redacted_clip(self, clip_id: str) -> Path:
        return self.redacted_dir / f"{clip_id}.mp4"

    # Paths in rows are stored relative to the run directory, so a run can move.
    def relative(self, path: Path) -> str:
        """`path` as stored in a row: relative to the run directory when inside it."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def resolve(self, stored: str | Path | None) -> Path | None:
        """A path read from a row: relative ones are under the run directory."""
        if stored is None or str(stored) == "":
            return None
        path = Path(stored).expanduser()
        return path if path.is_absolute() else self.root / path

    def clip_of(self, row: dict) -> Path:
        """The cut clip a `cut` row points at (media/clips/<clip_id>.mp4 when it names none)."""
        return self.resolve(row.get("path")) or self.clip(row["clip_id"])

    def table(self, stage: str) -> Table:
        return Table(self.root, stage)

    def stages_with_tables(self) -> list[str]:
        if not self.tables_dir.is_dir():
            return []
        return sorted(p.name for p in self.tables_dir.iterdir() if p.is_dir())

    def create(self) -> RunDir:
        for path in (self.tables_dir, self.raw_dir, self.clips_dir, self.redacted_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True)
        return self

    # Config -------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / RESOLVED_CONFIG

    def saved_config_data(self) -> dict:
        if not self.config_path.exists():
            return {}
        return yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}

    def resolve_config(self, file: Path | None = None, overrides: list[str] | None = None) -> Config:
        """Saved run config < file < overrides. The run keeps its config between commands."""
        return resolve_config(self.saved_config_data(), file, overrides)

    def save_config(self, config: Config) -> None:
        atomic_write_text(self.config_path, config_to_yaml(config))

    def load_config(self) -> Config:
        return resolve_config(self.saved_config_data())

    def config_hash(self, config: Config) -> str:
        return stable_hash(config.model_dump(mode="json"))
