"""CLI commands: exchange_cmd (registered by kalshi_lake.cli)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
