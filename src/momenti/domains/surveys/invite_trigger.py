"""Automatic triggers (invite the customers of new events with a given activity), reminders, bounces.

A trigger keeps its place in the store's events by monotonic id (`invite_triggers`), so each run looks only at
events added since the last one; an event older than `within` when first seen is too late to ask about and is
passed over. One invitation per (survey, customer, triggering event), enforced by a unique constraint, so
running a trigger twice (or two at once) never invites twice for the same event.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import func, insert, select, update

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.domains.surveys import fatigue
from momenti.domains.surveys.invite import (
    RESULT_COLUMNS,
    Contact,
    invite,
    language,
    read_contacts,
    result_row,
    send_invitations,
)
from momenti.domains.surveys.invite_survey import require_survey
from momenti.store.models import ContactSkip, Customer, Delivery, Event, Invitation, InviteTrigger, LinkUse, Unsubscribe

if TYPE_CHECKING:
    from momenti.domains.context import Context


@dataclass
class TriggerReport:
    events_matched: int
    events_too_old: int
    last_event_id: int


def customer_contacts(ws: Context, keys: list[str]) -> dict[str, Contact]:
    """Contact details from imported customers' attributes (email, language or lang, name)."""
    out: dict[str, Contact] = {}
    with ws.engine.connect() as conn:
        for i in range(0, len(keys), 500):
            q = select(Customer.customer_key, Customer.attributes).where(Customer.customer_key.in_(keys[i:i + 500]))
            for key, attrs in conn.execute(q):
                doc = json.loads(attrs) if attrs else {}
                out[key] = Contact(key, doc.get("email") or None, language(doc.get("language") or doc.get("lang"))
                                   or "it", doc.get("name") or None)
    return out


def trigger(ws: Context, survey_key: str, activity: str, within: dt.timedelta, *,
            now: dt.datetime | None = None, dry_run: bool = False, contacts_file: str | Path | None = None,
            base_url: str | None = None) -> tuple[pd.DataFrame, TriggerReport]:
    """Invite the customers of events with `activity` added since the last run and no older than `within`."""
    now = (now or utcnow()).replace(microsecond=0)
    require_survey(ws, survey_key, now)
    with ws.session() as s:
        state = s.get(InviteTrigger, (survey_key, activity))
        last = state.last_event_id if state else 0
    with ws.engine.connect() as conn:
        top = conn.execute(select(func.max(Event.id)).where(Event.id > last)).scalar_one_or_none() or last
        matched = conn.execute(
            select(Event.id, Event.external_id, Event.customer_key, Event.timestamp)
            .where(Event.id > last, Event.id <= top, func.lower(Event.activity) == activity.strip().lower(),
                   Event.customer_key.is_not(None))
            .order_by(Event.id)).all()
    fresh = [e for e in matched if e.timestamp >= now - within]
    known = {c.customer_id: c for c in read_contacts(contacts_file)} if contacts_file else {}
    keys = list(dict.fromkeys(e.customer_key for e in fresh if e.customer_key not in known))
    known.update(customer_contacts(ws, keys) if keys else {})
    contacts = []
    for e in fresh:
        base = known.get(e.customer_key) or Contact(e.customer_key)
        contacts.append(Contact(base.customer_id, base.email, base.language, base.name, dict(base.hidden),
                                base.touchpoint, trigger_event=e.external_id))
    frame = invite(ws, survey_key, contacts, now=now, dry_run=dry_run, base_url=base_url) if contacts else \
        pd.DataFrame(columns=RESULT_COLUMNS, dtype=object)
    frame.insert(1, "event", pd.Series([c.trigger_event for c in contacts], dtype=object))
    if not dry_run:
        with ws.session() as s, s.begin():
            row = s.get(InviteTrigger, (survey_key, activity)) or InviteTrigger(survey_key=survey_key,
                                                                                 activity=activity)
            row.last_event_id = max(top, row.last_event_id or 0)
            row.last_run_at = now
            s.add(row)
    return frame, TriggerReport(events_matched=len(matched),
                                events_too_old=len(matched) - len(fresh), last_event_id=top)


# -- reminders ---------------------------------------------------------------------------------------------


def remind(ws: Context, after: dt.timedelta, *, now: dt.datetime | None = None, dry_run: bool = False,
           survey_key: str | None = None, base_url: str | None = None) -> pd.DataFrame:
    """One reminder per e-mail invitation sent at least `after` ago and still unanswered (its link unused and
    unexpired), never to an opted-out customer. In quiet hours nothing is sent: the next run sends them.
    A customer who answered through another link or the widget is not told apart: the invitation's own link
    is what says "answered"."""
    now = (now or utcnow()).replace(microsecond=0)
    with ws.session() as s:
        # Opted-out customers are left out here (not skipped and logged at every run): they are never contacted.
        q = (select(Invitation).outerjoin(LinkUse, LinkUse.nonce == Invitation.link_nonce)
             .outerjoin(Unsubscribe, Unsubscribe.customer_key == Invitation.customer_key)
             .where(Invitation.channel == "email", Invitation.status == "sent", Invitation.reminded_at.is_(None),
                    Invitation.sent_at <= now - after, Invitation.link_expires_at > now, LinkUse.nonce.is_(None),
                    Unsubscribe.customer_key.is_(None)))
        if survey_key:
            q = q.where(Invitation.survey_key == survey_key)
        due = list(s.execute(q.order_by(Invitation.id)).scalars())
    quiet = fatigue.quiet_until(now, ws.settings)
    if dry_run or quiet is not None or not due:
        rows = []
        for inv in due:
            c = Contact(inv.customer_key, inv.email, inv.language, inv.name)
            if quiet is not None:
                rows.append(result_row(c, "would_defer" if dry_run else "deferred", "quiet_hours",
                                    "quiet hours: the next run after they end sends it", quiet))
            else:
                rows.append(result_row(c, "would_remind"))
        return pd.DataFrame(rows, columns=RESULT_COLUMNS, dtype=object)
    frame = send_invitations(ws, due, now, base_url or ws.settings.public_url, set(), reminder=True)
    frame["result"] = frame["result"].replace({"sent": "reminded"})
    return frame


# -- bounces -----------------------------------------------------------------------------------------------


def read_bounces(path: str | Path) -> list[dict]:
    """A CSV of bounces: message_id and/or email, and reason."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = {c.strip() for c in reader.fieldnames or []}
        if not columns & {"message_id", "email"}:
            raise InputError(f"{path}: needs a message_id or an email column (and optionally reason)")
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def record_bounces(ws: Context, bounces: Sequence[dict], now: dt.datetime | None = None) -> pd.DataFrame:
    """Mark invitations bounced, found by the Message-ID of their e-mail or else the last one sent to the
    address. One row per bounce: message_id, email, invitation_id (None when nothing matched), result."""
    now = (now or utcnow()).replace(microsecond=0)
    rows, deliveries, updates = [], [], []
    with ws.engine.connect() as conn:
        for b in bounces:
            message_id, email = (b.get("message_id") or "").strip() or None, (b.get("email") or "").strip() or None
            reason = (b.get("reason") or "").strip() or "bounced"
            hit = None
            if message_id:
                hit = conn.execute(select(Delivery.invitation_id, Delivery.kind)
                                   .where(Delivery.message_id == message_id)).first()
            if hit is None and email:
                hit = conn.execute(select(Delivery.invitation_id, Delivery.kind).join(
                    Invitation, Invitation.id == Delivery.invitation_id).where(
                    func.lower(Invitation.email) == email.lower(), Delivery.status == "sent")
                    .order_by(Delivery.id.desc())).first()
            if hit is None:
                rows.append({"message_id": message_id, "email": email, "invitation_id": None,
                             "result": "unknown", "reason": reason})
                continue
            deliveries.append({"invitation_id": hit[0], "kind": hit[1], "status": "bounced", "detail": reason,
                               "message_id": message_id, "at": now})
            updates.append((hit[0], reason))
            rows.append({"message_id": message_id, "email": email, "invitation_id": hit[0], "result": "bounced",
                         "reason": reason})
    if deliveries:
        with ws.engine.begin() as conn:
            conn.execute(insert(Delivery), deliveries)
            for invitation_id, reason in updates:
                conn.execute(update(Invitation).where(Invitation.id == invitation_id)
                             .values(status="bounced", detail=reason))
    return pd.DataFrame(rows, columns=["message_id", "email", "invitation_id", "result", "reason"], dtype=object)


def skipped(ws: Context, survey_key: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """The latest skipped invitations with their reason."""
    with ws.engine.connect() as conn:
        q = select(ContactSkip.at, ContactSkip.survey_key, ContactSkip.customer_key, ContactSkip.reason,
                   ContactSkip.detail, ContactSkip.trigger_event).order_by(ContactSkip.id.desc()).limit(limit)
        if survey_key:
            q = q.where(ContactSkip.survey_key == survey_key)
        return pd.DataFrame(conn.execute(q).all(),
                            columns=["at", "survey", "customer_id", "reason", "detail", "event"])
