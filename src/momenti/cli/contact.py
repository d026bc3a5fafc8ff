"""Contact-centre commands of `momenti journeys`: fcr, repeats, aht, switching."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `momenti journeys` group."""
