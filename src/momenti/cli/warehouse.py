"""momenti warehouse: sync the analytical replica from the store, or rebuild it."""

from __future__ import annotations

import typer

import momenti
from momenti.cli.output import console

app = typer.Typer(help="The analytical replica (DuckDB by default).", no_args_is_help=True)


@app.command()
def sync(rebuild: bool = typer.Option(False, "--rebuild", help="Drop the replica and copy everything again")) -> None:
    """Bring the warehouse up to date with the store (incremental, resumable, idempotent)."""
    with momenti.open() as ws:
        report = ws.sync(rebuild=rebuild)
    added = ", ".join(f"{k} +{v:,}" for k, v in report.added.items())
    console.print(f"{'rebuilt' if report.rebuilt else 'synced'}: {added} in {report.seconds:.1f}s")


@app.command()
def status() -> None:
    """Row counts of the warehouse tables."""
    with momenti.open() as ws:
        counts = ws.warehouse_counts()
        console.print(f"store: {ws.store_url.split('@')[-1]}")
        console.print(f"warehouse: {ws.settings.warehouse}")
    for name, n in counts.items():
        if not name.startswith("_"):
            console.print(f"  {name:20} {n:>12,}")
