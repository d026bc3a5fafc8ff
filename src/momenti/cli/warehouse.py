"""momenti warehouse: sync the analytical replica from the store, or rebuild it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

import momenti
from momenti.cli.output import Format, console

app = typer.Typer(help="The analytical replica (DuckDB by default).", no_args_is_help=True)


@app.command()
def sync(rebuild: bool = typer.Option(False, "--rebuild", help="Drop the replica and copy everything again")) -> None:
    """Bring the warehouse up to date with the store (incremental, resumable, idempotent)."""
    with momenti.open() as ws:
        report = ws.sync(rebuild=rebuild, strict=True)  # refused on an external warehouse, with the reason
    added = ", ".join(f"{k} +{v:,}" for k, v in report.added.items())
    console.print(f"{'rebuilt' if report.rebuilt else 'synced'}: {added} in {report.seconds:.1f}s")


@app.command()
def status() -> None:
    """Row counts of the warehouse tables, and the store's beside the warehouse's for the facts."""
    with momenti.open() as ws:
        lag = ws.warehouse_lag()  # read before any question could catch the warehouse up
        counts = ws.warehouse_counts()
        console.print(f"store: {ws.store_url.split('@')[-1]}")
        console.print(f"warehouse: {ws.settings.warehouse}")
    behind = {k for k, (_, _, late) in lag.items() if late}
    for kind, (store, have, _) in lag.items():
        note = "  behind" if kind in behind else ""
        console.print(f"  {kind:20} store {store:>12,}  warehouse {have:>12,}{note}", highlight=False)
    for name, n in counts.items():
        if not name.startswith("_") and name not in lag:
            console.print(f"  {name:20} {n:>12,}")
    if behind:
        console.print("the warehouse is behind the store: `momenti warehouse sync` (or any question) catches up",
                      highlight=False)


@app.command("check-mapping")
def check_mapping(
    file: Path | None = typer.Argument(None, help="The mapping file; default: MOMENTI_WAREHOUSE_MAPPING"),
    fmt: Format = typer.Option(Format.table, "--format", help="table or json"),
) -> None:
    """Check a mapping to an external warehouse (MOMENTI_WAREHOUSE_URL): every table and column it names exists
    with a usable type. One line per problem; exit code 1 when there is any."""
    from momenti.workspace import check_warehouse_mapping  # lazily: the CLI starts without pandas

    report = check_warehouse_mapping(file)
    if fmt == Format.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for problem in report.problems:
            console.print(problem.line(), highlight=False, markup=False)
        for section, n in report.rows.items():
            console.print(f"{section}: {n:,} rows", highlight=False)
        console.print(f"{len(report.problems)} problems", highlight=False)
    if not report.ok:
        raise typer.Exit(1)
