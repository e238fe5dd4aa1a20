"""`ophora-data` commands for release (filled in by the release work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
