"""momenti customer: one customer's story (the timeline and "before you talk"), notes and offers; the same
function as `GET /api/v1/customers/{id}/timeline` and the /customers/<id> page."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

import momenti
from momenti.cli.output import FMT, Format, console, print_frame

app = typer.Typer(help="A customer's timeline, notes and offers; find a customer.", no_args_is_help=True)


def _actor() -> Any:
    from momenti.domains.audit import cli_actor
    from momenti.domains.loop.cases import Actor

    return Actor(cli_actor())


@app.command()
def show(customer_id: str = typer.Argument(..., help="The customer's id"),
         kind: list[str] = typer.Option([], "--kind", help="Only these kinds (repeatable): response, event, "
                                        "feedback, invitation, case, note, offer, outcome"),
         since: str | None = typer.Option(None, "--since", help="From this day (YYYY-MM-DD)"),
         until: str | None = typer.Option(None, "--until", help="Up to this day, included"),
         limit: int = typer.Option(50, "--limit", help="Rows of the timeline (newest first)"),
         offset: int = typer.Option(0, "--offset"), fmt: Format = FMT) -> None:
    """The customer's timeline, newest first, with what to know before talking to them."""
    import pandas as pd

    with momenti.open() as ws:
        actor = _actor()
        doc = ws.story(customer_id, actor, kinds=kind, start=since, end=until, limit=limit, offset=offset)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, default=str, indent=1) + "\n")
        return
    rows = pd.DataFrame([_flat(r) for r in doc["rows"]], columns=["ts", "kind", "what", "detail"])
    if fmt is Format.csv:
        print_frame(rows, fmt)
        return
    _print_summary(doc["summary"])
    print_frame(rows, fmt, title=f"{len(doc['rows'])} of {doc['total']} item(s), newest first")


def _flat(r: dict[str, Any]) -> dict[str, Any]:
    k = r["kind"]
    what = {"response": lambda: f"{r.get('touchpoint')} " + " ".join(f"{q}={v:g}" for q, v in r["scores"].items()),
            "event": lambda: f"{r.get('activity')} ({r.get('channel') or '-'})",
            "feedback": lambda: f"{r.get('source')}: {(r.get('text') or '')[:60]}",
            "invitation": lambda: f"{r.get('survey')} {r.get('status')}",
            "case": lambda: f"#{r['id']} {r.get('title')} [{r.get('status')}]",
            "note": lambda: (r.get("text") or "")[:80],
            "offer": lambda: f"{r.get('offer')} -> {r.get('outcome')}",
            "outcome": lambda: str(r.get("status"))}[k]()
    detail = {"response": lambda: "; ".join(f"{q}: {v}" for q, v in r["answers"].items())[:80],
              "event": lambda: " ".join(str(x) for x in (r.get("reason"), r.get("outcome"), r.get("agent")) if x),
              "feedback": lambda: r.get("touchpoint") or "",
              "invitation": lambda: r.get("reason") or r.get("detail") or "",
              "case": lambda: f"{r.get('team') or ''} {r.get('sla_state') or ''}",
              "note": lambda: r.get("author") or "",
              "offer": lambda: r.get("agent") or "",
              "outcome": lambda: ""}[k]()
    return {"ts": r["ts"], "kind": k, "what": what, "detail": detail}


def _print_summary(s: dict[str, Any]) -> None:
    console.print(f"[bold]{s['customer_id']}[/bold]  language {s.get('language') or '-'}, prefers "
                  f"{s.get('preferred_channel') or '-'}, {s.get('lifecycle') or '-'}"
                  + (", [red]opted out of surveys[/red]" if s["opted_out"].get("surveys") else ""))
    for c in s["open_cases"]:
        console.print(f"  open case #{c['id']} {c['title']} ({c['status']}, SLA {c['sla_state']})")
    scores = ", ".join(f"{k.upper()} {v['value']:g} on {str(v['at'])[:10]}" for k, v in s["last_scores"].items())
    if scores:
        console.print(f"  last scores: {scores}")
    for r in s["repeat_contacts_7d"]:
        console.print(f"  [yellow]contacted {r['contacts']} times in 7 days about {r['reason']}[/yellow]")
    for o in s["offers"]:
        style = "red" if not o["allowed"] else "dim"
        console.print(f"  [{style}]offer {o['offer']}: {o['reason']}[/{style}]")


@app.command()
def find(q: str = typer.Argument(..., help="A customer id (or its start), an e-mail hash, an attribute value"),
         limit: int = typer.Option(20, "--limit"), fmt: Format = FMT) -> None:
    """Find customers by id, e-mail hash or attribute."""
    with momenti.open() as ws:
        print_frame(ws.find_customers(q, limit), fmt, title="customers")


@app.command()
def note(customer_id: str = typer.Argument(...), text: str = typer.Argument(..., help="The note")) -> None:
    """Add a note on the customer (shown on their timeline)."""
    with momenti.open() as ws:
        out = ws.add_customer_note(customer_id, text, _actor())
    console.print(f"note {out['id']} added")


@app.command()
def offer(customer_id: str = typer.Argument(...), name: str = typer.Argument(..., help="The offer"),
          outcome: str = typer.Option("pending", "--outcome", help="accepted, declined, no_answer or pending"),
          channel: str | None = typer.Option(None, "--channel")) -> None:
    """Record an offer proposed to the customer (warns when the offer rule says not to propose it)."""
    with momenti.open() as ws:
        out = ws.log_offer(customer_id, name, outcome, channel, _actor())
    if out["warning"]:
        console.print(f"[yellow]warning: {out['warning']}[/yellow]")
    console.print(f"offer {out['offer_id']} recorded ({out['outcome']})")


@app.command("offer-check")
def offer_check(customer_id: str = typer.Argument(...), name: str = typer.Argument(..., help="The offer"),
                fmt: Format = FMT) -> None:
    """May this offer be proposed to the customer? (exit 1 when not)"""
    with momenti.open() as ws:
        out = ws.offer_check(customer_id, name)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(out, default=str) + "\n")
    else:
        console.print(("allowed: " if out["allowed"] else "[red]not allowed:[/red] ") + out["reason"])
    if not out["allowed"]:
        raise typer.Exit(1)
