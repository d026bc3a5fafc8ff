"""momenti cases: the queue and the work on one case (the same functions as the /cases pages and the API)."""

from __future__ import annotations

from typing import Any

import typer

import momenti
from momenti.cli.output import FMT, Format, console, print_frame

app = typer.Typer(help="Cases opened by the alert rules: list, show, assign, note, contact, resolve, close, "
                       "reopen.", no_args_is_help=True)
LIST_COLUMNS = ["id", "customer_id", "touchpoint", "team", "owner", "status", "priority", "opened_at",
                "first_contact_due", "sla_state"]


def _actor() -> Any:
    from momenti.domains.audit import cli_actor
    from momenti.domains.loop.cases import Actor

    return Actor(cli_actor())


@app.command("list")
def list_(customer: str | None = typer.Option(None, "--customer", help="One customer's cases"),
          team: str | None = typer.Option(None, "--team"),
          status: str = typer.Option("open", "--status", help="open, all, or a status (new, contacted, ...)"),
          owner: str | None = typer.Option(None, "--owner", help="An e-mail, or none"),
          sla: str | None = typer.Option(None, "--sla", help="on_track, at_risk, breached or met"),
          limit: int = typer.Option(50, "--limit"), fmt: Format = FMT) -> None:
    """The queue, newest first, with each case's SLA state."""
    import pandas as pd

    from momenti.domains.loop.queue import COLUMNS, CaseFilter, list_cases

    f = CaseFilter(customer_id=customer, team=team, status=status, owner=owner, sla_state=sla, limit=limit)
    with momenti.open() as ws, ws.session() as s:
        rows, total = list_cases(s, _actor(), f)
    df = pd.DataFrame(rows, columns=COLUMNS)
    print_frame(df if fmt is not Format.table else df[LIST_COLUMNS], fmt, title=f"{len(rows)} of {total} case(s)",
                meta={"total": total})


@app.command()
def show(case_id: int = typer.Argument(...), fmt: Format = FMT) -> None:
    """One case: its fields, SLA and whole history (triggers, status changes, notes, contacts)."""
    import json

    from momenti.domains import audit
    from momenti.domains.loop.cases import get_case
    from momenti.domains.loop.queue import case_detail

    with momenti.open() as ws, ws.session() as s, s.begin():
        detail = case_detail(s, get_case(s, case_id))
        audit.record(s, audit.cli_actor(), "case.read", f"case {case_id}")
    if fmt is Format.json:
        console.print_json(json.dumps(detail, default=str))
        return
    entries = detail.pop("entries")
    for key, value in detail.items():
        console.print(f"[bold]{key:18}[/bold] {'–' if value is None else value}", highlight=False)
    console.print()
    for e in entries:
        what = e["kind"] + (f" {e['old'] or ''}→{e['new']}" if e["kind"] in ("status", "assign", "priority") else "")
        console.print(f"{e['at']:%Y-%m-%d %H:%M}  {e['actor']:24} {what:28} {e['body'] or ''}", highlight=False,
                      markup=False)


def _act(case_id: int, action: str, fn: Any) -> None:
    from momenti.domains import audit
    from momenti.domains.loop.cases import get_case

    with momenti.open() as ws, ws.session() as s, s.begin():
        case = get_case(s, case_id)
        fn(s, case, ws)
        audit.record(s, audit.cli_actor(), f"case.{action}", f"case {case_id}")
        console.print(f"case {case.id}: {case.status}", highlight=False)


@app.command()
def assign(case_id: int = typer.Argument(...),
           user: str = typer.Argument(..., help="The owner's e-mail, or none")) -> None:
    """Give the case an owner."""
    from momenti.domains.loop import cases

    _act(case_id, "assign", lambda s, c, ws: cases.assign(s, c, _actor(), None if user == "none" else user))


@app.command()
def note(case_id: int = typer.Argument(...), text: str = typer.Argument(..., help="The note")) -> None:
    """Add a note to the case."""
    from momenti.domains.loop import cases

    _act(case_id, "note", lambda s, c, ws: cases.add_note(s, c, _actor(), text))


@app.command()
def contact(case_id: int = typer.Argument(...),
            channel: str = typer.Option("phone", "--channel", help="phone, email, sms, chat, branch, letter, other"),
            outcome: str = typer.Option(..., "--outcome", help="reached, no_answer, voicemail, wrong_number, refused"),
            summary: str | None = typer.Option(None, "--summary", help="What was said")) -> None:
    """Log a contact attempt; reaching the customer marks the first contact."""
    from momenti.domains.loop import cases

    _act(case_id, "contact", lambda s, c, ws: cases.log_contact(s, c, _actor(), channel, outcome, summary))


@app.command()
def status(case_id: int = typer.Argument(...),
           to: str = typer.Argument(..., help="acknowledged, contacted or pending_customer")) -> None:
    """Move the case to a working status (pending_customer pauses the SLA clock)."""
    from momenti.domains.loop import cases

    _act(case_id, "status", lambda s, c, ws: cases.move(s, c, _actor(), to))


def _root_causes(s: Any) -> list[str] | None:
    from momenti.domains.loop.rules import active_rules

    active = active_rules(s)
    return active.document.root_cause_keys() or None if active else None


@app.command()
def resolve(case_id: int = typer.Argument(...),
            root_cause: str = typer.Option(..., "--root-cause", help="A key of the rules' root_causes"),
            recovered: bool = typer.Option(..., "--recovered/--not-recovered",
                                           help="Was it resolved for the customer?"),
            resolution: str | None = typer.Option(None, "--resolution", help="What was done")) -> None:
    """Resolve the case (root cause and 'resolved for the customer?' are required)."""
    from momenti.domains.loop import cases

    _act(case_id, "resolve", lambda s, c, ws: cases.move(
        s, c, _actor(), "resolved", root_causes=_root_causes(s), root_cause=root_cause, recovered=recovered,
        resolution=resolution))


@app.command()
def close(case_id: int = typer.Argument(...),
          root_cause: str | None = typer.Option(None, "--root-cause", help="Needed if the case is not resolved"),
          recovered: bool | None = typer.Option(None, "--recovered/--not-recovered")) -> None:
    """Close the case."""
    from momenti.domains.loop import cases

    _act(case_id, "close", lambda s, c, ws: cases.move(s, c, _actor(), "closed", root_causes=_root_causes(s),
                                                       root_cause=root_cause, recovered=recovered))


@app.command()
def reopen(case_id: int = typer.Argument(...), reason: str | None = typer.Option(None, "--reason")) -> None:
    """Reopen a resolved or closed case (its SLA clocks run again)."""
    from momenti.domains.loop import cases

    _act(case_id, "reopen", lambda s, c, ws: cases.move(s, c, _actor(), "reopened", note=reason))
