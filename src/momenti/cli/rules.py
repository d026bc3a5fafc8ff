"""momenti rules: the alert rules that open cases and send alerts (template, apply, test, list)."""

from __future__ import annotations

from pathlib import Path

import typer

import momenti
from momenti.cli.output import console, err_console

app = typer.Typer(help="Alert rules: which answers, feedback and contacts open a case or send an alert.",
                  no_args_is_help=True)


@app.command()
def template() -> None:
    """Print a starter rules file (YAML, commented in English and Italian)."""
    from momenti.domains.loop.rules import template_text

    console.print(template_text(), end="", highlight=False, markup=False, soft_wrap=True)


@app.command()
def apply(path: Path = typer.Argument(..., help="The rules file (YAML)")) -> None:
    """Validate the file and put it in force as a new version (nothing changes if it equals the current one).
    Rules act on what is written from now on; `momenti rules test` shows what they would have done before."""
    from momenti.domains import audit
    from momenti.domains.loop.rules import apply_rules, load_rules

    doc = load_rules(path)
    with momenti.open() as ws, ws.session() as s, s.begin():
        result = apply_rules(s, doc, audit.cli_actor())
        if result.changed:
            audit.record(s, audit.cli_actor(), "rules.apply", f"version {result.version}",
                         {"rules": [r.key for r in doc.rules]})
    state = "applied as version" if result.changed else "unchanged: still version"
    console.print(f"{result.rules} rule(s) {state} {result.version} "
                  f"({sum(r.enabled for r in doc.rules)} enabled)", highlight=False)


@app.command()
def test(path: Path = typer.Argument(..., help="The rules file to try (not applied)"),
         from_: str = typer.Option(..., "--from", help="Try it on the data since this day (YYYY-MM-DD)"),
         until: str | None = typer.Option(None, "--until", help="... and before this day"),
         fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """Dry run: how many cases each rule would have opened on past data. Nothing is written."""
    import json

    from momenti.core.args import parse_day
    from momenti.domains.loop.metric_rules import history
    from momenti.domains.loop.rules import load_rules
    from momenti.domains.loop.triggers import dry_run

    doc = load_rules(path)
    with momenti.open() as ws, ws.session() as s:
        rows = dry_run(s, doc, _start(parse_day(from_)), _start(parse_day(until)) if until else None,
                       metric_finder=lambda rule, since, end: history(ws, rule, since, end))
    if fmt == "json":
        console.print_json(json.dumps({"from": from_, "until": until, "rules": rows}))
        return
    from rich.table import Table

    table = Table(header_style="bold", title=f"rules on the data since {from_}" + (f" until {until}" if until else ""))
    for col in ("rule", "on", "triggers", "cases", "alerts", "customers", "top teams"):
        table.add_column(col, justify="left" if col in ("rule", "on", "top teams") else "right")
    for r in rows:
        teams = ", ".join(f"{k} {v}" for k, v in list(r["by_team"].items())[:3])
        table.add_row(r["rule"] + ("" if r["enabled"] else " (off)"), r["on"], f"{r['triggers']:,}",
                      f"{r['cases']:,}", f"{r['alerts']:,}", f"{r['customers']:,}", teams)
    console.print(table)
    err_console.print("cases: one open case per customer and rule, as if none were resolved in the period "
                      "(an upper bound of the queue)", highlight=False)


def _start(day: object) -> object:
    import datetime as dt

    return dt.datetime.combine(day, dt.time())  # type: ignore[arg-type]


@app.command("list")
def list_() -> None:
    """The rules in force and the versions applied."""
    from momenti.domains.loop.rules import active_rules, versions

    with momenti.open() as ws, ws.session() as s:
        active = active_rules(s)
        history = versions(s)
    if active is None:
        console.print("no rules applied yet: `momenti rules template > rules.yaml`, edit, `momenti rules apply "
                      "rules.yaml`", highlight=False)
        return
    for r in active.document.rules:
        action = ", ".join(a for a, on in (("case", r.open_case), ("notify", r.notify)) if on)
        console.print(f"{r.key:32} on {r.on:9} {action:14} {'enabled' if r.enabled else 'off'}", highlight=False)
    last = history[-1]
    console.print(f"version {last['version']} applied {last['applied_at']:%Y-%m-%d %H:%M} by {last['applied_by']} "
                  f"({len(history)} version(s))", highlight=False)
