"""The SLA escalation ladder, run by the job runner every five minutes (pipelines/loop.py).

Level 1: the SLA is at risk (75 % of a budget used) -> remind the owner (or the team's leads when nobody owns
the case). Level 2: breached -> notify the team's leads (and a `case.breached` event for webhooks). Level 3:
breached for 24 h -> notify the cx_managers. A case climbs each step once (its `escalation_level`), every
step is an entry of the case's history with whom it notified; reopening starts the ladder again.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from momenti.domains.loop.cases import OPEN_STATUSES, escalate
from momenti.domains.loop.notify import TEXTS, recipients, unsubscribe_token
from momenti.domains.loop.queue import clock_of, status_history
from momenti.store.access import User
from momenti.store.loop import Case

log = logging.getLogger("momenti.loop")
LATE = dt.timedelta(hours=24)


def _users(session: Session, names: list[str], case: Case) -> list[str]:
    # the rules' recipient names (domains/loop/notify.py), without those who turned staff e-mails off
    return [u.email for u in recipients(session, names, case.team, case.owner_id) if u.notify != "off"]


def _overdue_since(clock: Any) -> dt.datetime | None:
    dues = []
    if clock.first_contact_state == "breached" and clock.first_contact_at is None:
        dues.append(clock.first_contact_due)
    if clock.resolution_state == "breached" and clock.resolved_at is None:
        dues.append(clock.resolution_due)
    return min(dues) if dues else None


def run(session: Session, settings: Any, now: dt.datetime) -> dict[str, int]:
    counts = {"reminded": 0, "team_lead": 0, "cx_manager": 0}
    cases = list(session.scalars(select(Case).where(Case.status.in_(sorted(OPEN_STATUSES)),
                                                    Case.escalation_level < 3)))
    if not cases:
        return counts
    history = status_history(session, [c.id for c in cases])
    mails: list[tuple[list[str], Case, int]] = []
    for case in cases:
        clock = clock_of(case, history.get(case.id, []), now)
        if clock.paused:
            continue
        overdue = _overdue_since(clock)
        target = (3 if overdue is not None and now - overdue >= LATE else 2 if clock.state == "breached"
                  else 1 if clock.state == "at_risk" else 0)
        # Each step once, in order: a case found breached for a day at its first check still reminds its
        # owner and tells the team lead before the cx_manager hears of it.
        for step in range(case.escalation_level + 1, target + 1):
            if step == 1:
                target_users = _users(session, ["owner"], case) or _users(session, ["team_lead"], case)
                why, key = "SLA at risk (75 % of the time used)", "reminded"
            elif step == 2:
                target_users, why, key = _users(session, ["team_lead"], case), "SLA breached", "team_lead"
            else:
                target_users, why, key = _users(session, ["cx_manager"], case), "SLA breached for more than 24 h", \
                    "cx_manager"
            escalate(session, case, step, why, target_users, now)
            counts[key] += 1
            mails.append((target_users, case, step))
    if mails and settings.smtp_host:
        _send(settings, mails, {e: lang for e, lang in session.execute(select(User.email, User.language))})
    return counts


def _send(settings: Any, mails: list[tuple[list[str], Case, int]], langs: dict[str, str]) -> None:
    """One message per recipient and step, in the recipient's language, with the one-click unsubscribe of
    every staff e-mail (domains/loop/notify.py)."""
    from momenti.domains.surveys.smtp import Mail, SmtpSender

    base = settings.public_url.rstrip("/")
    words = {"it": ({1: "Caso a rischio SLA", 2: "SLA superato", 3: "SLA superato da oltre 24 ore"},
                    "caso {id} ({title}), team {team}, priorità {priority}", TEXTS["it"]["off"]),
             "en": ({1: "Case at risk of breaching its SLA", 2: "SLA breached", 3: "SLA breached over 24 h"},
                    "case {id} ({title}), team {team}, priority {priority}", TEXTS["en"]["off"])}
    with SmtpSender(settings) as smtp:
        for target, case, step in mails:
            link = f"{base}/cases/{case.id}"
            for to in target:
                lang = langs.get(to) if langs.get(to) in words else "it"
                subjects, line, off = words[lang]  # type: ignore[index]
                unsub = f"{base}/notifications/unsubscribe?t={unsubscribe_token(settings, to)}"
                body = (f"{subjects[step]}: " + line.format(id=case.id, title=case.title, team=case.team,
                                                            priority=case.priority)
                        + f".\n{link}\n\n{off}: {unsub}\n")
                result = smtp.send(Mail(to=to, to_name=None, subject=f"[momenti] {subjects[step]}: #{case.id}",
                                        text=body, html=f"<pre>{html.escape(body)}</pre>", language=lang,
                                        unsubscribe_url=unsub))
                if not result.ok:
                    log.warning("escalation e-mail for case %s to %s not sent: %s", case.id, to, result.detail)
