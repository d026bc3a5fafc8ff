"""momenti audit: the hash-chained audit log: verify it, export a range for someone outside, list entries."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

import momenti
from momenti.cli.output import FMT, Format, console, err_console, print_frame

app = typer.Typer(help="The audit log (hash-chained, append-only): verify, export, list.", no_args_is_help=True)
EXPORT_COLUMNS = ["id", "at", "actor", "action", "target", "detail", "ip", "note", "prev_hash", "hash"]


def _day(value: str | None, option: str):  # noqa: ANN202 - a date or None
    from momenti.core.args import parse_day

    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


@app.command()
def verify() -> None:
    """Recompute the whole chain: every entry's hash, every link, and the head (last entry, count).
    Exit 0 when intact; 1 with the first bad entry when not; 2 when the log could not be read."""
    from momenti.domains import audit

    try:
        with momenti.open() as ws, ws.session() as s:
            report = audit.verify(s)
    except Exception as exc:  # noqa: BLE001 - a damaged store is an answer, not a traceback
        err_console.print(f"[red]audit log could not be verified:[/red] {type(exc).__name__}: {exc}",
                          highlight=False, markup=True)
        raise typer.Exit(2) from None
    if report.intact:
        console.print(f"{report.entries} entries checked: intact", highlight=False)
        console.print(f"last entry {report.last_id}, hash {report.last_hash} ({report.seconds:.1f} s)",
                      highlight=False)
        return
    err_console.print(f"{report.entries} entries checked: [red]NOT intact[/red]", highlight=False)
    err_console.print(f"first bad: {report.problem}", highlight=False, markup=False)
    raise typer.Exit(1)


def _csv_cell(key: str, value: object) -> object:
    import json

    if key == "detail" and value is not None:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "" if value is None else value


@app.command("export")
def export_(start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD"),
            end: str = typer.Option(..., "--to", help="Last day (included), YYYY-MM-DD"),
            fmt: str = typer.Option("json", "--format", help="json or csv"),
            out: Path | None = typer.Option(None, "--out", help="Write to this file (default: standard output)"),
            ) -> None:
    """The entries of a range with their hashes, so an outside party can recompute every hash and link (the
    canonical form is in the JSON's "canonical" field and in docs/security.md). Writes an audit.export entry."""
    import csv
    import io
    import json

    from momenti.domains import audit

    if fmt not in ("json", "csv"):
        raise typer.BadParameter("json or csv", param_hint="--format")
    first, last = _day(start, "--from"), _day(end, "--to")
    with momenti.open() as ws, ws.session() as s, s.begin():
        doc = audit.export(s, first, last, audit.cli_actor(), fmt)
    if fmt == "json":
        body = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for e in doc["entries"]:
            writer.writerow({k: _csv_cell(k, e[k]) for k in EXPORT_COLUMNS})
        body = buf.getvalue()
    if out is None:
        sys.stdout.write(body)
    else:
        out.write_text(body, encoding="utf-8")
        err_console.print(f"{len(doc['entries'])} entries from {first} to {last} written to {out}", highlight=False)


@app.command("list")
def list_(actor: str | None = typer.Option(None, "--actor", help="Part of the actor (user:<e-mail>, cli:...)"),
          action: str | None = typer.Option(None, "--action", help="An action or a dotted prefix (login)"),
          since: str | None = typer.Option(None, "--since", help="A day (YYYY-MM-DD) or a duration back (7d)"),
          target: str | None = typer.Option(None, "--target", help="Exactly this target (user.create's e-mail...)"),
          customer: str | None = typer.Option(None, "--customer", help="A customer's id: the entries about them "
                                              "(the audit log names customers by pseudonym)"),
          limit: int = typer.Option(50, "--limit"), fmt: Format = FMT) -> None:
    """Entries, newest first."""
    import pandas as pd

    from momenti.core.clock import utcnow
    from momenti.domains import audit

    when = None
    if since and "-" in since:
        when = _day(since, "--since")
    elif since:
        from momenti.core.args import parse_duration
        from momenti.core.errors import InputError

        try:
            when = utcnow() - parse_duration(since, "--since")
        except InputError as exc:
            raise typer.BadParameter(str(exc), param_hint="--since") from None
    with momenti.open() as ws:
        if customer:
            ref = getattr(ws, "customer_ref", None)
            if ref is None:
                raise typer.BadParameter("this version has no customer pseudonyms", param_hint="--customer")
            target = ref(customer)
        with ws.session() as s:
            rows, total = audit.list_entries(s, actor=actor, action=action, since=when, limit=limit, target=target)
    df = pd.DataFrame(rows, columns=EXPORT_COLUMNS)
    if fmt is Format.table:
        df = df[["id", "at", "actor", "action", "target", "ip"]].assign(at=df["at"].str.slice(0, 19))
    print_frame(df, fmt, title=f"{len(rows)} of {total} entries", meta={"total": total})
