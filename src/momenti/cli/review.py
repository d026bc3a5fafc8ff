"""momenti review: the outside-in weekly review of a team (record activities, read the weeks)."""

from __future__ import annotations

import typer

import momenti
from momenti.cli.output import FMT, Format, console, print_frame

app = typer.Typer(help="The weekly review: how much did we work for the customer this week?", no_args_is_help=True)


def _actor():  # noqa: ANN202
    from momenti.domains.audit import cli_actor
    from momenti.domains.loop.cases import Actor

    return Actor(cli_actor())


@app.command()
def add(team: str = typer.Option(..., "--team"),
        week: str = typer.Option(..., "--week", help="ISO week, e.g. 2026-W40 (or any day of it)"),
        what: str = typer.Option(..., "--what", help="What was done"),
        touchpoint: list[str] = typer.Option([], "--touchpoint", help="The customer touchpoint it touched "
                                             "(repeatable); none: work that reached no customer"),
        value: int = typer.Option(..., "--value", help="1-5: value for the customer's need or desire"),
        ease: int = typer.Option(..., "--ease", help="1-5: ease of the interaction"),
        pleasantness: int = typer.Option(..., "--pleasantness", help="1-5: pleasantness of the experience"),
        case: list[int] = typer.Option([], "--case", help="A case it worked on (repeatable)"),
        improvement: bool = typer.Option(False, "--improvement", help="A change to the touchpoint: its metric "
                                         "is compared before and after"),
        evidence: str | None = typer.Option(None, "--evidence", help="A note of evidence")) -> None:
    """Record one activity of the team's week."""
    with momenti.open() as ws:
        out = ws.review_add(team, week, what, value, ease, pleasantness, touchpoint, case, improvement, evidence,
                            actor=_actor())
    console.print(f"activity {out['id']} recorded for {out['team']}, {out['week']}")


@app.command("list")
def list_(team: str | None = typer.Option(None, "--team"), since: str | None = typer.Option(None, "--since"),
          until: str | None = typer.Option(None, "--until"), fmt: Format = FMT) -> None:
    """Per week and team: activities, share touching a customer (with interval), mean value/ease/pleasantness."""
    with momenti.open() as ws:
        df = ws.reviews(team, since, until)
    print_frame(df, fmt, title="weekly review", meta={"basis": "customer activities"})


@app.command()
def activities(team: str | None = typer.Option(None, "--team"), since: str | None = typer.Option(None, "--since"),
               until: str | None = typer.Option(None, "--until"), fmt: Format = FMT) -> None:
    """Every recorded activity."""
    with momenti.open() as ws:
        print_frame(ws.review_activities(team, since, until), fmt, title="activities")


@app.command()
def improvements(team: str | None = typer.Option(None, "--team"), since: str | None = typer.Option(None, "--since"),
                 until: str | None = typer.Option(None, "--until"),
                 weeks: int = typer.Option(8, "--weeks", help="Weeks before and after compared"),
                 fmt: Format = FMT) -> None:
    """Each improvement beside its touchpoint's metric before and after (interval, significance)."""
    with momenti.open() as ws:
        print_frame(ws.review_improvements(team, since, until, weeks), fmt, title="improvements")
