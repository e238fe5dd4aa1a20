"""`ophora-data` commands for audit (filled in by the audit work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
