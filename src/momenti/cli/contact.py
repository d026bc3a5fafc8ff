"""momenti contact: contact-centre KPIs (fcr, repeats, aht, complaints, switching).

Each prints a DataFrame of the workspace method of the same name (table, JSON or CSV); definitions are in
momenti.insights.contact.kpis and docs/contact-centre.md.
"""

from __future__ import annotations

import typer

import momenti
from momenti.cli.output import FMT, Format, print_frame
from momenti.core.args import parse_filters

app = typer.Typer(help="Contact-centre KPIs from the interaction log: FCR, repeat contacts, handling time, "
                       "complaint rate, channel switching.", no_args_is_help=True)

BY = typer.Option("", "--by", help="Comma list: reason, channel, agent, touchpoint, segment:<attr>")
PERIOD = typer.Option(None, "--period", help="day, week, month, quarter or year (of the contact's start)")
DAYS = typer.Option(7, "--days", min=1, help="Window N in days")
FROM = typer.Option(None, "--from", help="First day (YYYY-MM-DD) of the contacts judged, inclusive")
TO = typer.Option(None, "--to", help="Last day (YYYY-MM-DD) of the contacts judged, inclusive")
FILTER = typer.Option([], "--filter", help="dimension=value[,value] (repeatable), e.g. reason='carta bloccata'")


def _meta(kpi: str, by: str, period: str | None, start: str | None, end: str | None, filters: dict,
          **more: object) -> dict:
    return {"kpi": kpi, "query": {"by": [b.strip() for b in by.split(",") if b.strip()], "period": period,
                                  "from": start, "to": end, "filters": filters, **more}}


def _title(name: str, by: str, period: str | None) -> str:
    keys = [b.strip() for b in by.split(",") if b.strip()] + ([period] if period else [])
    return f"{name} by {', '.join(keys) or 'all'}"


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app` (`momenti contact`, and the hidden `momenti journeys` alias)."""

    @app.command()
    def fcr(by: str = BY, period: str | None = PERIOD, days: int = DAYS, start: str | None = FROM,
            end: str | None = TO, filters: list[str] = FILTER, fmt: Format = FMT) -> None:
        """First-contact resolution %: contacts (cases with a reason) not followed by a same-reason contact
        within --days; contacts younger than --days before the log's end are censored. Wilson 95 % interval."""
        f = parse_filters(filters)
        with momenti.open() as ws:
            df = ws.fcr(days=days, by=by, period=period, start=start, end=end, filters=f)
        print_frame(df, fmt, title=_title(f"FCR ({days}-day window)", by, period),
                    meta=_meta("fcr", by, period, start, end, f, days=days))

    @app.command()
    def repeats(by: str = BY, period: str | None = PERIOD, days: int = DAYS, start: str | None = FROM,
                end: str | None = TO, filters: list[str] = FILTER, fmt: Format = FMT) -> None:
        """Repeat-contact rate %: same customer, same reason, again within --days (any channel); censored
        contacts left out of n. Wilson 95 % interval."""
        f = parse_filters(filters)
        with momenti.open() as ws:
            df = ws.repeat_contacts(days=days, by=by, period=period, start=start, end=end, filters=f)
        print_frame(df, fmt, title=_title(f"Repeat contacts ({days}-day window)", by, period),
                    meta=_meta("repeats", by, period, start, end, f, days=days))

    @app.command()
    def aht(by: str = typer.Option("", "--by", help="Comma list: reason, channel, agent, touchpoint, activity "
                                                    "(per event), segment:<attr>"),
            period: str | None = PERIOD, per: str = typer.Option("event", "--per", help="event (each timed step) "
                                                                 "or contact (sum of a contact's steps)"),
            start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER, fmt: Format = FMT,
            ) -> None:
        """Handling time in seconds from duration_s: n, mean with a t 95 % interval, sd, median, p90."""
        f = parse_filters(filters)
        with momenti.open() as ws:
            df = ws.handling_time(by=by, period=period, per=per, start=start, end=end, filters=f)
        print_frame(df, fmt, title=_title(f"Handling time per {per} (s)", by, period),
                    meta=_meta("aht", by, period, start, end, f, per=per))

    @app.command()
    def complaints(by: str = BY, period: str | None = PERIOD,
                   unit: str = typer.Option("contacts", "--unit", help="contacts (share of contacts that are "
                                            "complaints) or customers (share of active customers who complained)"),
                   touchpoints: list[str] = typer.Option([], "--touchpoint", help="Complaint touchpoint "
                                                         "(repeatable; default: keys containing 'complaint')"),
                   activities: list[str] = typer.Option([], "--activity", help="Complaint activity (repeatable)"),
                   start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER,
                   fmt: Format = FMT) -> None:
        """Complaint rate % with a Wilson 95 % interval: a complaint is a case with an event at a complaint
        touchpoint or activity."""
        f = parse_filters(filters)
        with momenti.open() as ws:
            df = ws.complaint_rate(by=by, period=period, unit=unit, touchpoints=touchpoints or None,
                                   activities=activities or None, start=start, end=end, filters=f)
        print_frame(df, fmt, title=_title(f"Complaint rate per {unit.rstrip('s')}", by, period),
                    meta=_meta("complaints", by, period, start, end, f, unit=unit))

    @app.command()
    def switching(from_channel: str | None = typer.Option(None, "--from-channel", help="First channel "
                                                          "(default: every channel)"),
                  to_channel: str | None = typer.Option(None, "--to-channel", help="Later channel (default: "
                                                        "every channel; '*': any other channel)"),
                  days: int = DAYS, by: str = BY, period: str | None = PERIOD,
                  unit: str = typer.Option("customers", "--unit", help="customers or contacts"),
                  same_reason: bool = typer.Option(False, "--same-reason", help="Only contacts with a reason, "
                                                   "and the later one about the same reason"),
                  matrix: bool = typer.Option(False, "--matrix", help="Print a from x to table of switch rates "
                                              "(no --by/--period)"),
                  start: str | None = FROM, end: str | None = TO, filters: list[str] = FILTER,
                  fmt: Format = FMT) -> None:
        """Channel switching %: customers who start an interaction in one channel and start another one in a
        different channel within --days. Wilson 95 % interval; recent interactions censored."""
        f = parse_filters(filters)
        with momenti.open() as ws:
            df = ws.channel_switching(from_channel, to_channel, days=days, by=by, period=period, unit=unit,
                                      same_reason=same_reason, start=start, end=end, filters=f, matrix=matrix)
        meta = _meta("switching", by, period, start, end, f, days=days, unit=unit, from_channel=from_channel,
                     to_channel=to_channel, same_reason=same_reason)
        title = _title(f"Channel switching within {days} days ({unit})", by, period)
        if matrix:
            title = f"Switch rate % within {days} days, from (rows) to (columns), per {unit.rstrip('s')}"
        print_frame(df, fmt, title=title, meta=meta)


register(app)
