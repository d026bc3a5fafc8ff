"""momenti privacy: a customer's data exported, erased (and the erasure verified), searched for."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

import momenti
from momenti.cli.output import console, err_console

app = typer.Typer(help="Privacy: export a customer's data, erase it (verified), search for what is left.",
                  no_args_is_help=True)
EMAIL = typer.Option([], "--email", help="An e-mail address of the customer, also searched inside free text "
                     "(repeatable; those in their attributes and invitations are found on their own)")
PHONE = typer.Option([], "--phone", help="A phone number of the customer (repeatable; any separators)")


def _actor() -> str:
    from momenti.domains.audit import cli_actor

    return cli_actor()


@app.command()
def export(customer_id: str = typer.Argument(...),
           out: Path = typer.Option(..., "--out", help="The archive to write (.zip: customer.json + a CSV per "
                                    "table)")) -> None:
    """Everything about the customer in one archive."""
    with momenti.open() as ws:
        _, counts = ws.privacy_export(customer_id, out, actor=_actor())
    rows = {t: n for t, n in counts.items() if n}
    console.print(f"{out}: {sum(rows.values()):,} rows of {len(rows)} tables ("
                  + ", ".join(f"{t} {n:,}" for t, n in rows.items()) + ")", highlight=False)


@app.command()
def erase(customer_id: str = typer.Argument(...),
          mode: str = typer.Option("delete", "--mode", help="delete (every row) or anonymise (scores kept under a "
                                   "random id, text and contact data dropped)"),
          email: list[str] = EMAIL, phone: list[str] = PHONE,
          as_json: bool = typer.Option(False, "--json", help="Print the report as JSON")) -> None:
    """Erase the customer everywhere, then search everything again: exit 0 only when nothing is left."""
    with momenti.open() as ws:
        report = ws.privacy_erase(customer_id, mode, email, phone, actor=_actor())
    if as_json:
        sys.stdout.write(json.dumps(report, default=str, indent=1) + "\n")
    else:
        sub = report["subject"]
        removed = {t: n for t, n in report["rows"].items() if n}
        console.print(f"{mode}: {sum(removed.values()):,} rows (" + (", ".join(f"{t} {n:,}" for t, n in
                      removed.items()) or "none") + ")", highlight=False)
        for where, n in report["redacted"].items():
            console.print(f"  redacted {where}: {n}", highlight=False)
        left = report["left"]
        console.print(f"searched {left['searched'].get('store tables', 0)} store tables, "
                      f"{left['searched'].get('warehouse tables', 0)} warehouse tables and "
                      f"{left['searched'].get('files', 0)} files for the id, {sub['emails']} e-mail address(es) and "
                      f"{sub['phones']} phone number(s): {left['found']} left", highlight=False)
        for w in left["where"]:
            err_console.print(f"  left: {w}", highlight=False)
        for w in left["unread"] + report["not_removed"]:
            err_console.print(f"  could not remove or read: {w}", highlight=False)
        for w in report["notes"]:
            console.print(f"  note: {w}", highlight=False)
    if not report["ok"]:
        raise typer.Exit(1)


@app.command()
def search(customer_id: str = typer.Argument(...), email: list[str] = EMAIL, phone: list[str] = PHONE) -> None:
    """Where the customer still appears (store, warehouse, job queue, data directory); exit 1 when anywhere."""
    with momenti.open() as ws:
        found = ws.privacy_search(customer_id, email, phone)
    for w in found["where"]:
        console.print(w, highlight=False)
    console.print(f"{found['found']} occurrence(s)")
    if found["found"]:
        raise typer.Exit(1)


@app.command()
def retention(dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go, purge nothing")) -> None:
    """Apply the retention policies now (the job runner does it daily): MOMENTI_RETENTION_<KIND>_DAYS."""
    from momenti.domains.privacy import retention as policy

    with momenti.open() as ws:
        rows = policy.plan(ws) if dry_run else policy.apply(ws, actor=_actor())
    for r in rows:
        keep = f"kept {r['days']} days (before {r['cutoff']:%Y-%m-%d})" if r["days"] else "kept for ever"
        verb = "would go" if dry_run else "purged"
        console.print(f"{r['kind']:13} {keep}: {r['rows']:,} rows {verb}", highlight=False)
