"""momenti links / momenti invite: signed survey links, e-mail invitations, triggers, reminders, fatigue rules."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

import momenti
from momenti.cli.output import FMT, Format, console, err_console, print_frame
from momenti.core.clock import naive_utc
from momenti.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

links_app = typer.Typer(help="Signed, expiring survey links (single-use by default).", no_args_is_help=True)
app = typer.Typer(help="E-mail invitations with contact-fatigue rules: momenti invite --survey S --customers FILE",
                  invoke_without_command=True)

SURVEY = typer.Option(..., "--survey", help="Survey key")
CUSTOMERS = typer.Option(None, "--customers", help="CSV: customer_id, email, language, name, then hidden fields")
TOUCHPOINT = typer.Option(None, "--touchpoint", help="Touchpoint of the answers (default: the survey's first)")
EXPIRES = typer.Option(None, "--expires", help="Link lifetime, e.g. 30d, 72h (default MOMENTI_LINK_DAYS)")
HIDDEN = typer.Option([], "--hidden", help="name=value carried in every link (repeatable)")
BASE_URL = typer.Option(None, "--base-url", help="Public address of the server (default MOMENTI_PUBLIC_URL)")
DRY_RUN = typer.Option(False, "--dry-run", help="Show who would be contacted and why not; write and send nothing")
NOW = typer.Option(None, "--now", help="Act as if it were this UTC time (ISO 8601); for testing rules", hidden=True)


def _hidden(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"--hidden {pair!r}: write name=value")
        name, value = pair.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def _now(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--now {text!r}: not an ISO 8601 time") from exc
    return naive_utc(value)


def _summary(frame: pd.DataFrame, column: str = "result", noun: str = "contacts") -> None:
    if frame.empty:
        console.print("nothing to do")
        return
    counts = frame[column].value_counts()
    parts = [f"{n} {k}" for k, n in counts.items()]
    import pandas as pd

    reasons = frame["reason"].dropna().value_counts() if "reason" in frame else pd.Series(dtype=int)
    extra = f" (reasons: {', '.join(f'{k} {n}' for k, n in reasons.items())})" if len(reasons) else ""
    err_console.print(f"{len(frame)} {noun}: {', '.join(parts)}{extra}", highlight=False)


# -- links -------------------------------------------------------------------------------------------------


@links_app.command("create")
def links_create(survey: str = SURVEY, customers: Path | None = CUSTOMERS,
                 anonymous: bool = typer.Option(False, "--anonymous", help="Links with no customer (if the survey "
                                                "allows anonymous answers)"),
                 count: int = typer.Option(1, "--count", help="How many anonymous links"),
                 reusable: bool = typer.Option(False, "--reusable", help="Multi-use links (default: single use)"),
                 touchpoint: str | None = TOUCHPOINT, expires: str | None = EXPIRES, hidden: list[str] = HIDDEN,
                 base_url: str | None = BASE_URL,
                 fmt: Format = typer.Option(Format.csv, "--format", help="csv, json or table"),
                 out: Path | None = typer.Option(None, "--out", help="Write to this file instead of stdout")) -> None:
    """One signed link per contact (or --anonymous --count N links)."""
    from momenti.core.clock import utcnow
    from momenti.domains.surveys.invite import Contact, read_contacts
    from momenti.domains.surveys.invite_survey import pick_touchpoint, require_survey
    from momenti.domains.surveys.links import LinkClaims, parse_duration, secret_key, sign, survey_url

    if (customers is None) == (not anonymous):
        raise InputError("give --customers FILE, or --anonymous [--count N]")
    with momenti.open() as ws:
        info = require_survey(ws, survey)
        if anonymous and not info.allow_anonymous:
            raise InputError(f"survey {survey!r} does not allow anonymous answers (allow_anonymous: false)")
        tp = pick_touchpoint(info, touchpoint)
        life = parse_duration(expires) if expires else dt.timedelta(days=ws.settings.link_days)
        secret, base = secret_key(ws.settings), base_url or ws.settings.public_url
        fixed = _hidden(hidden)
        contacts = read_contacts(customers, fixed) if customers else \
            [Contact(customer_id="", hidden=dict(fixed)) for _ in range(max(1, count))]
    now = utcnow()
    rows = []
    for c in contacts:
        claims = LinkClaims(survey=survey, customer_id=c.customer_id or None,
                            touchpoint=pick_touchpoint(info, c.touchpoint) if c.touchpoint else tp, hidden=c.hidden,
                            lang=c.language if c.customer_id else None, expires_at=now + life,
                            single_use=not reusable)
        rows.append({"customer_id": claims.customer_id, "email": c.email, "language": claims.lang, "name": c.name,
                     "url": survey_url(base, survey, sign(claims, secret)),
                     "expires_at": claims.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "nonce": claims.nonce})
    import pandas as pd

    frame = pd.DataFrame(rows)
    if out is None:
        print_frame(frame, fmt, title=f"links to {survey}")
        return
    if fmt is Format.json:
        out.write_text(json.dumps(frame.to_dict("records"), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        from momenti.core.frames import write_csv  # pandas loads when a file is written
        write_csv(frame, out)
    err_console.print(f"{len(frame)} links written to {out} (valid until {rows[0]['expires_at'] if rows else '-'})",
                      highlight=False)


@links_app.command("verify")
def links_verify(link: str = typer.Argument(..., help="A link or its token")) -> None:
    """Check a link: its claims if genuine and unexpired, the reason otherwise."""
    from urllib.parse import parse_qs, urlparse

    from momenti.domains.surveys.links import is_consumed, secret_keys, verify

    token = parse_qs(urlparse(link).query).get("t", [link])[0] if "://" in link else link
    with momenti.open() as ws:
        claims = verify(token, secret_keys(ws.settings))
        used = is_consumed(ws, claims)
    doc = {**claims.__dict__, "expires_at": f"{claims.expires_at:%Y-%m-%dT%H:%M:%SZ}", "used": used}
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


# -- invite ------------------------------------------------------------------------------------------------


@app.callback()
def invite_main(ctx: typer.Context, survey: str | None = typer.Option(None, "--survey", help="Survey key"),
                customers: Path | None = CUSTOMERS, touchpoint: str | None = TOUCHPOINT,
                expires: str | None = EXPIRES, hidden: list[str] = HIDDEN, base_url: str | None = BASE_URL,
                dry_run: bool = DRY_RUN, fmt: Format = FMT, now: str | None = NOW) -> None:
    """Invite the contacts of a CSV to a survey by e-mail (fatigue rules, quiet hours, unsubscribes honoured)."""
    if ctx.invoked_subcommand is not None:
        return
    if survey is None or customers is None:
        console.print(ctx.get_help())
        raise typer.Exit(0 if survey is None and customers is None else 2)
    from momenti.domains.surveys.invite import invite, read_contacts
    from momenti.domains.surveys.links import parse_duration

    contacts = read_contacts(customers, _hidden(hidden))
    with momenti.open() as ws:
        frame = invite(ws, survey, contacts, now=_now(now), dry_run=dry_run, touchpoint=touchpoint,
                       expires=parse_duration(expires) if expires else None, base_url=base_url)
    print_frame(frame, fmt, title=f"invitations to {survey}" + (" (dry run)" if dry_run else ""))
    _summary(frame)


@app.command("trigger")
def invite_trigger(survey: str = SURVEY,
                   after_activity: str = typer.Option(..., "--after-activity", help="Event activity, e.g. "
                                                      "'chiusura pratica'"),
                   within: str = typer.Option("24h", "--within", help="Invite only for events this recent"),
                   customers: Path | None = typer.Option(None, "--customers", help="Contact CSV (default: e-mail, "
                                                         "language, name from imported customers' attributes)"),
                   base_url: str | None = BASE_URL, dry_run: bool = DRY_RUN, fmt: Format = FMT,
                   now: str | None = NOW) -> None:
    """Invite the customers of new events with an activity (since the last run; one invitation per event)."""
    from momenti.domains.surveys.invite_trigger import trigger
    from momenti.domains.surveys.links import parse_duration

    with momenti.open() as ws:
        frame, report = trigger(ws, survey, after_activity, parse_duration(within), now=_now(now), dry_run=dry_run,
                                contacts_file=customers, base_url=base_url)
    print_frame(frame, fmt, title=f"{after_activity} -> {survey}" + (" (dry run)" if dry_run else ""))
    err_console.print(f"{report.events_matched} new '{after_activity}' events, {report.events_too_old} older than "
                      f"{within}; read up to event id {report.last_event_id}", highlight=False)
    if not frame.empty:
        _summary(frame)


@app.command("send")
def invite_send(base_url: str | None = BASE_URL, fmt: Format = FMT, now: str | None = NOW) -> None:
    """Send the invitations deferred by quiet hours whose time has come."""
    from momenti.domains.surveys.invite import send_due

    with momenti.open() as ws:
        frame = send_due(ws, now=_now(now), base_url=base_url)
    print_frame(frame, fmt, title="deferred invitations sent")
    _summary(frame)


@app.command("remind")
def invite_remind(after: str = typer.Option("3d", "--after", help="Remind when unanswered this long after sending"),
                  survey: str | None = typer.Option(None, "--survey", help="Only this survey"),
                  base_url: str | None = BASE_URL, dry_run: bool = DRY_RUN, fmt: Format = FMT,
                  now: str | None = NOW) -> None:
    """Send one reminder for each unanswered invitation (never twice, never to opted-out customers)."""
    from momenti.domains.surveys.invite_trigger import remind
    from momenti.domains.surveys.links import parse_duration

    with momenti.open() as ws:
        frame = remind(ws, parse_duration(after), now=_now(now), dry_run=dry_run, survey_key=survey,
                       base_url=base_url)
    print_frame(frame, fmt, title="reminders" + (" (dry run)" if dry_run else ""))
    _summary(frame)


@app.command("bounce")
def invite_bounce(file: Path = typer.Argument(..., help="CSV with message_id and/or email, and reason"),
                  fmt: Format = FMT) -> None:
    """Record bounced e-mails reported by the mail system."""
    from momenti.domains.surveys.invite_trigger import read_bounces, record_bounces

    bounces = read_bounces(file)
    with momenti.open() as ws:
        frame = record_bounces(ws, bounces)
    print_frame(frame, fmt, title="bounces")
    _summary(frame, noun="bounces")


@app.command("status")
def invite_status(survey: str | None = typer.Option(None, "--survey", help="Only this survey"),
                  fmt: Format = FMT) -> None:
    """Invitations per status (answered, reminded) and skipped contacts per reason."""
    from momenti.domains.surveys.invite import status

    with momenti.open() as ws:
        print_frame(status(ws, survey), fmt, title="invitations")


@app.command("skipped")
def invite_skipped(survey: str | None = typer.Option(None, "--survey", help="Only this survey"),
                   limit: int = typer.Option(50, "--limit", help="How many, newest first"), fmt: Format = FMT) -> None:
    """The latest skipped invitations and why."""
    from momenti.domains.surveys.invite_trigger import skipped

    with momenti.open() as ws:
        print_frame(skipped(ws, survey, limit), fmt, title="skipped invitations")


@app.command("rules")
def invite_rules(survey: str = SURVEY,
                 max_per_day: int | None = typer.Option(None, "--max-per-day", help="Quota, rolling 24 hours"),
                 max_per_week: int | None = typer.Option(None, "--max-per-week", help="Quota, rolling 7 days"),
                 sample: float | None = typer.Option(None, "--sample", help="Share of customers invited, 0..1"),
                 seed: str | None = typer.Option(None, "--seed", help="Sampling seed (change it to redraw)"),
                 clear: bool = typer.Option(False, "--clear", help="Remove quotas and sampling"),
                 fmt: Format = FMT) -> None:
    """Show or set a survey's quotas and sampling rate."""
    from momenti.domains.surveys.fatigue import Rules, get_rules, set_rules

    with momenti.open() as ws:
        rules = Rules() if clear else get_rules(ws, survey)
        if clear or any(v is not None for v in (max_per_day, max_per_week, sample, seed)):
            rules.max_per_day = max_per_day if max_per_day is not None else rules.max_per_day
            rules.max_per_week = max_per_week if max_per_week is not None else rules.max_per_week
            rules.sample_rate = sample if sample is not None else rules.sample_rate
            rules.sample_seed = seed if seed is not None else rules.sample_seed
            set_rules(ws, survey, rules)
        s = ws.settings
    import pandas as pd

    frame = pd.DataFrame([{"survey": survey, "max_per_day": rules.max_per_day, "max_per_week": rules.max_per_week,
                           "sample_rate": rules.sample_rate, "sample_seed": rules.sample_seed,
                           "fatigue_days": s.fatigue_days, "quiet_hours": f"{s.quiet_hours} {s.timezone}"}])
    print_frame(frame, fmt, title="contact rules")


@app.command("unsubscribe")
def invite_unsubscribe(customer_id: str = typer.Argument(..., help="The customer who asked not to be contacted"),
                       email: str | None = typer.Option(None, "--email")) -> None:
    """Opt a customer out of every future invitation (e.g. asked by phone)."""
    from momenti.domains.surveys.fatigue import unsubscribe

    with momenti.open() as ws:
        new = unsubscribe(ws, customer_id, email, source="cli")
    console.print(f"{customer_id}: {'opted out' if new else 'already opted out'}", highlight=False)
