"""How the CLI prints a DataFrame: a Rich table, JSON or CSV. Errors go to stderr."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:  # pandas loads when a table is printed, not when the CLI starts
    import pandas as pd

# Piped output (a file, CI, another program) would be cut to 80 columns; tables need more room than that.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FMT = typer.Option(Format.table, "--format", help="table, json or csv")  # every command that prints a table


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"
    return str(value)


def print_frame(df: pd.DataFrame, fmt: Format, title: str | None = None, meta: dict | None = None) -> None:
    import pandas as pd
    from rich.table import Table

    from momenti.core.frames import json_document, records, write_csv

    if fmt is Format.json:
        doc = json_document(df, meta)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str, indent=1) + "\n")
    elif fmt is Format.csv:
        write_csv(df, sys.stdout)
    else:
        table = Table(title=title, header_style="bold")
        for col in df.columns:
            table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
        for row in records(df):
            table.add_row(*(_cell(v) for v in row.values()))
        console.print(table)
        if "small_sample" in df and df["small_sample"].any():
            console.print("[yellow]small_sample: fewer responses than MOMENTI_MIN_N; read the interval, "
                          "not the point.[/yellow]")


def fail(message: str, code: int = 2) -> None:
    import typer

    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)
