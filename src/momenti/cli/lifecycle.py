"""momenti loyalty-bank: loyalty by the number of positive moments lived before."""

from __future__ import annotations

import typer

import momenti
from momenti.cli.output import Format, console, print_frame


def loyalty_bank(
    outcome: str = typer.Option("nps", "--outcome", help="nps, csat or ces: the loyalty question"),
    touchpoint: str = typer.Option("relationship-survey", "--touchpoint",
                                   help="Where the loyalty question is asked ('' for anywhere)"),
    buckets: str = typer.Option("0,1,2,3,5,8", "--buckets", help="Lower bounds of the count buckets"),
    start: str | None = typer.Option(None, "--from", help="First day of loyalty answers (YYYY-MM-DD)"),
    end: str | None = typer.Option(None, "--to", help="Last day of loyalty answers (YYYY-MM-DD)"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json or csv"),
) -> None:
    """Does loyalty grow as positive moments accumulate? Score by count of earlier top-box moments."""
    with momenti.open() as ws:
        df = ws.loyalty_bank(outcome, touchpoint or None, buckets, start, end)
    trend = df.attrs.get("trend", {})
    print_frame(df, fmt, title=f"{outcome.upper()} by positive moments lived before",
                meta={"outcome": outcome, "touchpoint": touchpoint or None, "trend": trend})
    if fmt is Format.table and trend:
        console.print(f"trend: {trend['slope']:+.3f} points per extra positive moment "
                      f"(95 % CI {trend['ci_low']:+.3f} to {trend['ci_high']:+.3f}, p = {trend['p_value']:.2g}, "
                      f"n = {trend['n']:,.0f})")


def register(app: typer.Typer) -> None:
    app.command("loyalty-bank")(loyalty_bank)
