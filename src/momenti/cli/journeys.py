"""momenti journeys: process analytics on the interaction log (dfg, variants, funnel, fcr, aht, ...)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Journey analytics from interaction logs: paths, variants, funnels, contact KPIs.",
                  no_args_is_help=True)

from momenti.cli import contact  # noqa: E402 - adds the contact-centre commands to this group

contact.register(app)
