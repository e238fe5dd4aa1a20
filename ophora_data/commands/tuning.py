"""`ophora-data` commands for tuning (filled in by the tuning work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
