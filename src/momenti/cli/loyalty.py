"""momenti loyalty: Loyalty battery, net shifts, loyalty index and price-switch thresholds."""

from __future__ import annotations

import typer

app = typer.Typer(help="Loyalty battery, net shifts, loyalty index and price-switch thresholds.",
                  no_args_is_help=True)
