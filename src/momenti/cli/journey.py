"""momenti journey: templates, apply a journey file, show the journey in the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

import momenti
from momenti.cli.output import console
from momenti.domains.journey_map.catalog import TEMPLATES, template_text

app = typer.Typer(help="Describe the customer journey: journeys -> stages -> touchpoints.", no_args_is_help=True)


@app.command()
def template(sector: str = typer.Argument(..., help=f"One of: {', '.join(TEMPLATES)}")) -> None:
    """Print a sector template (redirect it to a file, edit, then `momenti journey apply`)."""
    sys.stdout.write(template_text(sector))


@app.command()
def apply(path: Path = typer.Argument(..., help="Journey YAML file")) -> None:
    """Create or update journeys, stages and touchpoints from a YAML file (updates in place)."""
    with momenti.open() as ws:
        summary = ws.apply_journey(path)
    for kind, color in (("created", "green"), ("updated", "cyan"), ("archived", "yellow"), ("deleted", "red")):
        for item in getattr(summary, kind):
            console.print(f"[{color}]{kind}[/{color}] {item}")
    console.print(f"{len(summary.created)} created, {len(summary.updated)} updated, "
                  f"{len(summary.unchanged)} unchanged, {len(summary.archived)} archived, "
                  f"{len(summary.deleted)} deleted")


@app.command()
def show(fmt: str = typer.Option("yaml", "--format", help="yaml or json")) -> None:
    """Print the journeys in the store."""
    with momenti.open() as ws:
        doc = ws.journey_document()
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
