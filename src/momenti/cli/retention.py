"""momenti retention: Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models."""

from __future__ import annotations

import typer

app = typer.Typer(help="Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models.",
                  no_args_is_help=True)
