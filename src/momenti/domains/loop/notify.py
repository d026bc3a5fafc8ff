"""Staff e-mail notifications of the alert rules: who gets what, when, in which language.

A rule's `notify.email` names recipients: `team` (every active user of the case's or touchpoint's team),
`owner`, `team_lead`, `cx_manager`, or e-mail addresses of users. Each user chooses `immediate`, `daily` (one
digest a day) or `off` (`momenti user notify`, the one-click unsubscribe link in every message). A rule may
ask for a daily digest, throttle (`max_per_hour` per user: beyond it, the rest waits for the digest) and keep
quiet hours (sent when they end). Messages carry ids, the rule and a link, never the customer's words: who
reads more signs in, and is audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import logging
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.core.secrets import stable_derived_key
from momenti.domains.loop.rules import active_rules
from momenti.domains.surveys.fatigue import parse_quiet_hours, quiet_end
from momenti.store.access import Team, User
from momenti.store.loop import StaffNotification

log = logging.getLogger("momenti.loop")
MODES = ("immediate", "daily", "off")
_KEY = b"momenti-staff-unsubscribe"


def check_mode(mode: str) -> str:
    mode = mode.strip().lower()
    if mode not in MODES:
        raise InputError(f"notification mode {mode!r}: choose one of {', '.join(MODES)}")
    return mode


# -- one-click unsubscribe (RFC 8058) ---------------------------------------------------------------------


def unsubscribe_token(settings: Any, email: str) -> str:
    # The e-mail's HMAC under a key derived from the FIRST key of the ring, not the current one: the token has
    # no expiry and sits in e-mails already sent (RFC 8058 one-click unsubscribe), so a rotation (`momenti secret
    # rotate`) must not change it.
    mac = hmac.new(stable_derived_key(settings, _KEY), email.lower().encode(), hashlib.sha256).hexdigest()[:32]
    return f"{email.lower()}.{mac}"


def email_of_token(settings: Any, token: str) -> str:
    email, _, mac = (token or "").rpartition(".")
    if not email or not hmac.compare_digest(unsubscribe_token(settings, email), token or ""):
        raise InputError("this unsubscribe link is not valid")
    return email


def set_mode(session: Session, email: str, mode: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise InputError(f"user {email}: no such user")
    user.notify = check_mode(mode)
    return user


# -- queueing ---------------------------------------------------------------------------------------------


def recipients(session: Session, names: list[str], team: str | None, owner_id: int | None) -> list[User]:
    """The active users `names` designate (team, team_lead, cx_manager, owner, e-mails), by e-mail, once
    each; the caller drops those who chose `off` (the digest still counts them)."""
    users: dict[str, User] = {}
    active = select(User).where(User.disabled_at.is_(None)).order_by(User.email)
    for name in names:
        if name == "team" and team:
            rows = session.scalars(active.join(Team, Team.id == User.team_id).where(Team.name == team))
        elif name == "team_lead" and team:
            rows = session.scalars(active.join(Team, Team.id == User.team_id).where(Team.name == team,
                                                                                   User.role == "team_lead"))
        elif name == "cx_manager":
            rows = session.scalars(active.where(User.role == "cx_manager"))
        elif name == "owner" and owner_id:
            rows = session.scalars(active.where(User.id == owner_id))
        elif "@" in name:
            rows = session.scalars(active.where(User.email == name.strip().lower()))
        else:
            continue
        for u in rows:
            users[u.email] = u
    return list(users.values())


def _in_quiet_hours(now: dt.datetime, quiet: str | None, zone: str) -> dt.datetime | None:
    """The end of a rule's quiet hours ("21:00-08:00", local) when `now` falls in them, else None: the same
    reading as the customers' quiet hours (domains/surveys/fatigue.py)."""
    window = parse_quiet_hours(quiet)
    return quiet_end(now, window, ZoneInfo(zone)) if window is not None else None


def queue(session: Session, settings: Any, events: list[tuple[int, str, dict[str, Any]]],
          now: dt.datetime | None = None) -> int:
    """Notifications for the events of rules with `notify.email`; one per (user, event) however often the
    event is handed over. The number written."""
    active = active_rules(session)
    if active is None:
        return 0
    now = now or utcnow()
    rules = {r.key: r for r in active.document.rules}
    zone = (active.document.calendar or {}).get("timezone", "Europe/Rome")
    written = 0
    people: dict[tuple[tuple[str, ...], str | None], list[User]] = {}  # one lookup per rule and team
    for event_id, kind, payload in events:
        rule = rules.get(str(payload.get("rule")))
        if rule is None or rule.notify is None or not rule.notify.email:
            continue
        wanted = (tuple(rule.notify.email), payload.get("team"))
        if wanted not in people:
            people[wanted] = recipients(session, rule.notify.email, payload.get("team"), None)
        for user in people[wanted]:
            if user.notify == "off":
                continue
            mode = "digest" if user.notify == "daily" or rule.notify.digest == "daily" else "immediate"
            if mode == "immediate" and rule.notify.max_per_hour is not None:
                recent = session.scalar(select(func.count()).where(
                    StaffNotification.user_email == user.email, StaffNotification.rule_key == rule.key,
                    StaffNotification.mode == "immediate",
                    StaffNotification.created_at >= now - dt.timedelta(hours=1))) or 0
                if recent >= rule.notify.max_per_hour:
                    mode = "digest"  # throttled: the rest of the hour waits for the digest
            planned = (_in_quiet_hours(now, rule.notify.quiet_hours, zone) if mode == "immediate" else None) or now
            try:
                with session.begin_nested():
                    session.add(StaffNotification(
                        user_email=user.email, event_id=event_id, case_id=payload.get("case_id"), rule_key=rule.key,
                        kind=kind, summary={k: payload.get(k) for k in ("case_id", "rule", "team", "touchpoint",
                                                                        "priority", "source", "source_id")},
                        mode=mode, status="pending", planned_at=planned, created_at=now))
                written += 1
            except IntegrityError:
                continue  # this event was queued for this user already
    return written


# -- sending ----------------------------------------------------------------------------------------------

TEXTS = {
    "it": {"case.opened": "Nuovo caso", "response.alert": "Risposta da guardare", "feedback.alert": "Feedback da "
           "guardare", "events.alert": "Contatti ripetuti", "digest": "Il riepilogo di oggi",
           "case": "Caso", "team": "team", "touchpoint": "punto di contatto", "off": "Non ricevere più questi "
           "messaggi"},
    "en": {"case.opened": "New case", "response.alert": "An answer to look at", "feedback.alert": "Feedback to "
           "look at", "events.alert": "Repeat contacts", "digest": "Today's digest", "case": "Case", "team": "team",
           "touchpoint": "touchpoint", "off": "Stop these messages"},
}


def _line(n: StaffNotification, lang: str, base: str, rules: dict[str, str]) -> str:
    t = TEXTS[lang]
    s = n.summary or {}
    what = t.get(n.kind, n.kind)
    where = ", ".join(x for x in (s.get("touchpoint") and f"{t['touchpoint']} {s['touchpoint']}",
                                  s.get("team") and f"{t['team']} {s['team']}") if x)
    link = f"{base}/cases/{s['case_id']}" if s.get("case_id") else f"{base}/cases"
    label = rules.get(n.rule_key or "", n.rule_key or "")
    return f"{what}: {label}" + (f" ({where})" if where else "") + f"\n{link}"


def send_due(ws: Any, now: dt.datetime | None = None, digest: bool = False) -> dict[str, int]:
    """Send the immediate notifications that are due, and with `digest` every pending digest (one message per
    user). {'sent': n, 'failed': n}."""
    from momenti.domains.surveys.smtp import Mail, SmtpSender

    now = now or utcnow()
    counts = {"sent": 0, "failed": 0}
    settings = ws.settings
    if not settings.smtp_host:
        return counts
    base = settings.public_url.rstrip("/")
    with ws.session() as s:
        stmt = select(StaffNotification).where(StaffNotification.status == "pending",
                                               StaffNotification.planned_at <= now)
        stmt = stmt if digest else stmt.where(StaffNotification.mode == "immediate")
        pending = list(s.scalars(stmt.order_by(StaffNotification.id)))
        if not pending:  # the common case of the minute's job: nothing more to read
            return counts
        langs = dict(s.execute(select(User.email, User.language).where(
            User.email.in_(sorted({n.user_email for n in pending})))).all())
        active = active_rules(s)
    groups: dict[tuple[str, str], list[StaffNotification]] = {}
    for n in pending:
        key = (n.user_email, "digest" if n.mode == "digest" else f"one:{n.id}")
        groups.setdefault(key, []).append(n)
    results: dict[int, tuple[str, str | None]] = {}
    with SmtpSender(settings) as smtp:
        for (email, how), items in groups.items():
            lang = langs.get(email, "it") if langs.get(email) in TEXTS else "it"
            rules = {r.key: r.label(lang) for r in active.document.rules} if active else {}
            t = TEXTS[lang]
            first = items[0]
            subject = (f"[momenti] {t['digest']}: {len(items)}" if how == "digest"
                       else f"[momenti] {t.get(first.kind, first.kind)}: {rules.get(first.rule_key or '', '')}")
            unsub = f"{base}/notifications/unsubscribe?t={unsubscribe_token(settings, email)}"
            body = "\n\n".join(_line(n, lang, base, rules) for n in items) + f"\n\n{t['off']}: {unsub}\n"
            result = smtp.send(Mail(to=email, to_name=None, subject=subject, text=body, language=lang,
                                    html="<pre>" + html.escape(body) + "</pre>", unsubscribe_url=unsub))
            for n in items:
                results[n.id] = ("sent" if result.ok else "failed", None if result.ok else result.detail)
            counts["sent" if result.ok else "failed"] += 1
    with ws.session() as s, s.begin():
        for nid, (status, detail) in results.items():
            row = s.get(StaffNotification, nid)
            if row is not None:
                row.status, row.detail = status, (detail or None) and detail[:300]
                row.sent_at = now if status == "sent" else None
    return counts
