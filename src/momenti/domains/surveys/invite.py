"""E-mail invitations: plan (fatigue rules, quiet hours), create the personal links, send, record the results.

An invitation is planned as `queued` (send now) or `deferred` (quiet hours: send at `planned_at`), then
`send_due` sends what is due through SMTP and records each attempt in `deliveries` (sent, or failed with its
reason); bounces come later (`record_bounces`). Skipped customers are logged in `contact_skips` with their
reason. A dry run decides the same way and writes nothing.

Reminders and automatic triggers are in invite_trigger.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.domains.surveys import fatigue
from momenti.domains.surveys.invite_mail import render
from momenti.domains.surveys.invite_survey import SurveyInfo, pick_touchpoint, require_survey
from momenti.domains.surveys.links import (
    LinkClaims,
    secret_key,
    sign,
    sign_unsubscribe,
    survey_url,
    unsubscribe_url,
)
from momenti.domains.surveys.smtp import SmtpSender
from momenti.store.models import ContactSkip, Delivery, Invitation, Unsubscribe

if TYPE_CHECKING:
    from momenti.domains.context import Context

CONTACT_COLUMNS = ("customer_id", "email", "language", "name", "touchpoint")
RESULT_COLUMNS = ["customer_id", "email", "language", "result", "reason", "detail", "planned_at"]
PENDING = ("queued", "deferred")
WAIVABLE = frozenset({"fatigue", "quota_day", "quota_week", "not_sampled"})  # limits an exception may pass
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


@dataclass
class Contact:
    customer_id: str
    email: str | None = None
    language: str = "it"
    name: str | None = None
    hidden: dict[str, str] = field(default_factory=dict)
    touchpoint: str | None = None
    trigger_event: str | None = None  # the event that triggered this invitation (automatic triggers)


def language(value: str | None) -> str | None:
    """'it', 'IT', 'it-IT' -> it; 'en', 'en-GB' -> en; empty -> it (the default); anything else -> None."""
    text = (value or "").strip().lower()
    if not text:
        return "it"
    base = text.replace("_", "-").split("-", 1)[0]
    return base if base in ("it", "en") else None


def read_contacts(path: str | Path, hidden: dict[str, str] | None = None) -> list[Contact]:
    """Contacts from a CSV: customer_id, email, language, name, optional touchpoint; every other column is a
    hidden field carried in the link. Rows without a customer id or with a language other than it/en are
    errors naming the line (nothing is sent); a missing or malformed e-mail is a per-contact skip."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in reader.fieldnames or []]
        if "customer_id" not in columns:
            raise InputError(f"{path}: no customer_id column (columns: customer_id, email, language, name, "
                             "then any hidden fields)")
        contacts, errors = [], []
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            customer = row.get("customer_id", "")
            lang = language(row.get("language"))
            if not customer:
                errors.append(f"{path}:{line}: customer_id: missing")
                continue
            if lang is None:
                errors.append(f"{path}:{line}: language: {row.get('language')!r} is not it or en")
                continue
            extra = {k: v for k, v in row.items() if k and k not in CONTACT_COLUMNS and v}
            contacts.append(Contact(customer_id=customer, email=row.get("email") or None, language=lang,
                                    name=row.get("name") or None, hidden={**(hidden or {}), **extra},
                                    touchpoint=row.get("touchpoint") or None))
    if errors:
        more = f"\n... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise InputError("\n".join(errors[:10]) + more)
    return contacts


def result_row(c: Contact, result: str, reason: str | None = None, detail: str | None = None,
            planned_at: dt.datetime | None = None) -> dict:
    return {"customer_id": c.customer_id, "email": c.email, "language": c.language, "result": result,
            "reason": reason, "detail": detail, "planned_at": planned_at}


def invite(ws: Context, survey_key: str, contacts: Sequence[Contact], *, now: dt.datetime | None = None,
           dry_run: bool = False, touchpoint: str | None = None, expires: dt.timedelta | None = None,
           base_url: str | None = None, exception: str | None = None) -> pd.DataFrame:
    """Invite `contacts` to a survey: one row per contact with `result` (sent, failed, deferred, skipped,
    or would_send / would_defer / would_skip in a dry run), `reason` and `detail` of a skip or failure, and
    `planned_at` (UTC) of a deferred e-mail. `exception` (e.g. "case 12": a recovery survey) is the documented
    reason to pass the frequency limits (fatigue, quotas, sampling); opt-outs and missing e-mails still skip,
    and the invitation's detail records the exception."""
    now = (now or utcnow()).replace(microsecond=0)  # shown and stored to the second
    info = require_survey(ws, survey_key, now)
    default_tp = pick_touchpoint(info, touchpoint)
    expires = expires or dt.timedelta(days=ws.settings.link_days)
    gate = fatigue.Gate(ws, now, [c.customer_id for c in contacts])
    defer_to = fatigue.quiet_until(now, ws.settings)
    seen_events = _existing_events(ws, survey_key, contacts)
    rows, skips, planned = [], [], []
    secret = None if dry_run else secret_key(ws.settings)
    for c in contacts:
        if c.trigger_event is not None and (c.customer_id, c.trigger_event) in seen_events:
            rows.append(result_row(c, "would_skip" if dry_run else "skipped", "already_invited",
                                f"already invited for event {c.trigger_event}"))
            continue
        found = gate.reason(c.customer_id, survey_key)
        waived = None
        if found is not None and exception and found[0] in WAIVABLE:
            waived, found = f"frequency exception ({exception}): {found[1]}", None
        if found is None and (not c.email or not _EMAIL.match(c.email)):
            found = ("no_email", "no e-mail address" if not c.email else f"not an e-mail address: {c.email}")
        if found is not None:
            rows.append(result_row(c, "would_skip" if dry_run else "skipped", *found))
            skips.append({"survey_key": survey_key, "customer_key": c.customer_id, "reason": found[0],
                          "detail": found[1], "trigger_event": c.trigger_event, "at": now})
            continue
        when = defer_to or now
        gate.record(c.customer_id, survey_key, when)
        if c.trigger_event is not None:
            seen_events.add((c.customer_id, c.trigger_event))
        result = ("would_defer" if defer_to else "would_send") if dry_run else ("deferred" if defer_to else "queued")
        rows.append(result_row(c, result, "quiet_hours" if defer_to else None,
                            f"quiet hours ({ws.settings.quiet_hours} {ws.settings.timezone})" if defer_to else None,
                            when))
        if not dry_run:
            assert secret is not None
            tp = pick_touchpoint(info, c.touchpoint) if c.touchpoint else default_tp
            claims = LinkClaims(survey=survey_key, customer_id=c.customer_id, touchpoint=tp, hidden=dict(c.hidden),
                                lang=c.language, expires_at=when + expires, single_use=True)
            planned.append({"survey_key": survey_key, "customer_key": c.customer_id, "email": c.email,
                            "name": c.name, "language": c.language, "channel": "email", "touchpoint": tp,
                            "trigger_event": c.trigger_event, "link_nonce": claims.nonce, "detail": waived,
                            "link_token": sign(claims, secret), "link_expires_at": claims.expires_at,
                            "status": "deferred" if defer_to else "queued", "created_at": now, "planned_at": when})
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS, dtype=object)
    if dry_run:
        return frame
    fatigue.log_skips(ws, skips)
    ids = _insert_invitations(ws, planned)
    if not ids:
        return frame
    sent = send_due(ws, now=now, base_url=base_url, ids=ids)
    if not sent.empty:  # each contact's final result from the send step
        by_customer = sent.set_index("customer_id")
        for i, row in frame.iterrows():
            if row["result"] == "queued" and row["customer_id"] in by_customer.index:
                hit = by_customer.loc[row["customer_id"]]
                hit = hit.iloc[-1] if isinstance(hit, pd.DataFrame) else hit
                frame.loc[i, ["result", "reason", "detail"]] = [hit["result"], hit["reason"], hit["detail"]]
    return frame


def _existing_events(ws: Context, survey_key: str, contacts: Sequence[Contact]) -> set[tuple[str, str]]:
    events = [c.trigger_event for c in contacts if c.trigger_event is not None]
    if not events:
        return set()
    out: set[tuple[str, str]] = set()
    with ws.engine.connect() as conn:
        for i in range(0, len(events), 500):
            q = select(Invitation.customer_key, Invitation.trigger_event).where(
                Invitation.survey_key == survey_key, Invitation.trigger_event.in_(events[i:i + 500]))
            out.update((a, b) for a, b in conn.execute(q))
    return out


def _insert_invitations(ws: Context, rows: list[dict]) -> list[int]:
    """Insert planned invitations; their ids. One transaction; if another run inserted the same (survey,
    customer, event) meanwhile, one by one, leaving out the ones already there."""
    if not rows:
        return []
    nonces = [r["link_nonce"] for r in rows]
    try:
        with ws.engine.begin() as conn:
            conn.execute(insert(Invitation), rows)
    except IntegrityError:
        for row in rows:
            try:
                with ws.engine.begin() as conn:
                    conn.execute(insert(Invitation), [row])
            except IntegrityError:
                continue
    with ws.engine.connect() as conn:
        return [r[0] for i in range(0, len(nonces), 500)
                for r in conn.execute(select(Invitation.id).where(Invitation.link_nonce.in_(nonces[i:i + 500])))]


def send_due(ws: Context, *, now: dt.datetime | None = None, base_url: str | None = None,
             ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Send every queued or deferred invitation whose time has come (or only `ids`): one row per invitation
    with result sent / failed / skipped (opted out since it was planned)."""
    now = (now or utcnow()).replace(microsecond=0)
    if ids is None and fatigue.quiet_until(now, ws.settings) is not None:
        return pd.DataFrame(columns=RESULT_COLUMNS, dtype=object)  # quiet hours: nothing is due yet
    with ws.session() as s:
        q = select(Invitation).where(Invitation.status.in_(PENDING), Invitation.planned_at <= now,
                                     Invitation.channel == "email")
        if ids is not None:
            q = q.where(Invitation.id.in_(list(ids)))
        due = list(s.execute(q.order_by(Invitation.id)).scalars())
        opted = {r[0] for r in s.execute(select(Unsubscribe.customer_key).where(
            Unsubscribe.customer_key.in_({i.customer_key for i in due})))} if due else set()
    if not due:
        return pd.DataFrame(columns=RESULT_COLUMNS, dtype=object)
    return send_invitations(ws, due, now, base_url or ws.settings.public_url, opted, reminder=False)


def send_invitations(ws: Context, invitations: list[Invitation], now: dt.datetime, base_url: str, opted: set[str],
          reminder: bool) -> pd.DataFrame:
    secret = secret_key(ws.settings)
    surveys: dict[str, SurveyInfo] = {}
    rows, deliveries, skips = [], [], []
    updates: list[dict] = []
    with SmtpSender(ws.settings) as smtp:
        for inv in invitations:
            c = Contact(inv.customer_key, inv.email, inv.language, inv.name)
            if inv.customer_key in opted:
                rows.append(result_row(c, "skipped", "opted_out", fatigue.REASONS["opted_out"]))
                skips.append({"survey_key": inv.survey_key, "customer_key": inv.customer_key, "reason": "opted_out",
                              "detail": "unsubscribed after the invitation was planned", "at": now,
                              "trigger_event": inv.trigger_event})
                if not reminder:
                    updates.append({"_id": inv.id, "status": "cancelled", "detail": "opted_out", "sent_at": None})
                continue
            if inv.survey_key not in surveys:
                surveys[inv.survey_key] = require_survey(ws, inv.survey_key, live=False)
            info = surveys[inv.survey_key]
            mail = render(lang=inv.language, to=inv.email or "", name=inv.name, title=info.title_in(inv.language),
                          url=survey_url(base_url, inv.survey_key, inv.link_token or ""),
                          unsubscribe_url=unsubscribe_url(base_url, sign_unsubscribe(inv.customer_key, secret,
                                                                                     inv.email, inv.language)),
                          expires=inv.link_expires_at or now, reminder=reminder)
            result = smtp.send(mail)
            status = "sent" if result.ok else "failed"
            deliveries.append({"invitation_id": inv.id, "kind": "reminder" if reminder else "invitation",
                               "status": status, "detail": result.detail, "message_id": result.message_id, "at": now})
            if reminder:
                if result.ok:
                    updates.append({"_id": inv.id, "reminded_at": now})
            else:
                # a sent invitation keeps its planning note (a documented frequency exception)
                updates.append({"_id": inv.id, "status": status,
                                "detail": inv.detail if result.ok else result.detail,
                                "sent_at": now if result.ok else None})
            rows.append(result_row(c, status, None if result.ok else "smtp", result.detail))
    with ws.engine.begin() as conn:
        if deliveries:
            conn.execute(insert(Delivery), deliveries)
        if skips:
            conn.execute(insert(ContactSkip), skips)
        for u in updates:  # few columns differ per row; one statement per invitation is clear and cheap enough
            values = {k: v for k, v in u.items() if k != "_id"}
            conn.execute(update(Invitation).where(Invitation.id == u["_id"]).values(**values))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS, dtype=object)


def status(ws: Context, survey_key: str | None = None) -> pd.DataFrame:
    """Invitations per survey and status (answered: their link was used), and skips per reason."""
    from momenti.store.models import LinkUse

    with ws.engine.connect() as conn:
        q = select(Invitation.survey_key, Invitation.channel, Invitation.status, Invitation.reminded_at,
                   LinkUse.nonce).outerjoin(LinkUse, LinkUse.nonce == Invitation.link_nonce)
        sk = select(ContactSkip.survey_key, ContactSkip.reason)
        if survey_key:
            q = q.where(Invitation.survey_key == survey_key)
            sk = sk.where(ContactSkip.survey_key == survey_key)
        inv = pd.DataFrame(conn.execute(q).all(), columns=["survey", "channel", "status", "reminded_at", "used"])
        skipped = pd.DataFrame(conn.execute(sk).all(), columns=["survey", "reason"])
    rows = []
    for (survey, channel, state), g in inv.groupby(["survey", "channel", "status"], sort=True):
        rows.append({"survey": survey, "what": f"{channel} {state}", "n": len(g),
                     "answered": int(g["used"].notna().sum()), "reminded": int(g["reminded_at"].notna().sum())})
    for (survey, reason), g in skipped.groupby(["survey", "reason"], sort=True):
        rows.append({"survey": survey, "what": f"skipped: {reason}", "n": len(g), "answered": None, "reminded": None})
    return pd.DataFrame(rows, columns=["survey", "what", "n", "answered", "reminded"], dtype=object)
