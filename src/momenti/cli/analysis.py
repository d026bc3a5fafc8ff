"""Moments-of-truth analysis commands: momenti drivers, quadrant, penalty-reward, dissonance."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's top-level commands to the `momenti` app."""
