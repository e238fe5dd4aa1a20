"""Typer command groups; `cli.py` assembles them. Commands stay thin: resolve config, call the library."""
