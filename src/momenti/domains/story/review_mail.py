"""The review's e-mails: on Friday afternoon (the team's time zone, from `review_reminder_hour`) each team lead
is reminded to record the week; on Monday from 9 each CX manager gets the summary of the week before, per team.
Both in the user's language. The job runner calls `send_due` every hour; `review_mails` records what was sent,
so each message goes once, and a failed send is tried again the next hour of the same day.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from momenti.core.clock import utcnow
from momenti.domains.story import review
from momenti.store.access import Team, User
from momenti.store.story import ReviewMail

SUMMARY_HOUR = 9
TEXTS = {
    "it": {"reminder": "Revisione settimanale di {team}: {week}",
           "reminder_body": "È venerdì: quanto abbiamo lavorato per il cliente questa settimana?\n\n"
                            "Registra le attività della settimana di {team} e valuta ognuna da 1 a 5 per valore "
                            "per il cliente, facilità dell'interazione e piacevolezza dell'esperienza.\n"
                            "Finora: {n} attività registrate.\n\n{link}\n",
           "summary": "Revisione settimanale: riepilogo della settimana {week}",
           "summary_head": "Quanto abbiamo lavorato per il cliente nella settimana {week}:",
           "row": "{team}: {n} attività, {share} % per il cliente (intervallo {lo}–{hi} %), valore {value}, "
                  "facilità {ease}, piacevolezza {pleasantness}",
           "none": "{team}: nessuna attività registrata"},
    "en": {"reminder": "Weekly review of {team}: {week}",
           "reminder_body": "It is Friday: how much did we work for the customer this week?\n\n"
                            "Record {team}'s activities of the week and rate each 1 to 5 on value for the "
                            "customer, ease of the interaction and pleasantness of the experience.\n"
                            "So far: {n} activities recorded.\n\n{link}\n",
           "summary": "Weekly review: summary of week {week}",
           "summary_head": "How much we worked for the customer in week {week}:",
           "row": "{team}: {n} activities, {share} % for the customer (interval {lo}-{hi} %), value {value}, "
                  "ease {ease}, pleasantness {pleasantness}",
           "none": "{team}: no activity recorded"},
}


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Europe/Rome")
    except (KeyError, ValueError):  # an unknown zone written by hand: the company's default
        return ZoneInfo("Europe/Rome")


def _local(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC).astimezone(zone)


def due(ws: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """The messages due at `now` (UTC, naive) and not sent yet: {kind, email, language, team?, week_start}."""
    hour = ws.settings.review_reminder_hour
    out = []
    with ws.session() as s:
        teams = {t.id: t for t in s.scalars(select(Team))}
        users = list(s.scalars(select(User).where(User.disabled_at.is_(None),
                                                  User.role.in_(("team_lead", "cx_manager")))))
        sent = {(m.kind, m.week_start, m.email) for m in s.scalars(select(ReviewMail).where(
            ReviewMail.week_start >= (now - dt.timedelta(days=14)).date()))}
    for u in users:
        team = teams.get(u.team_id) if u.team_id else None
        local = _local(now, _zone(team.timezone if team else None))
        if u.role == "team_lead" and team is not None and local.weekday() == 4 and local.hour >= hour:
            week = review.week_start(local.date())
            if ("reminder", week, u.email) not in sent:
                out.append({"kind": "reminder", "email": u.email, "language": u.language, "team": team.name,
                            "week_start": week})
        if u.role == "cx_manager" and local.weekday() == 0 and local.hour >= SUMMARY_HOUR:
            week = review.week_start(local.date()) - dt.timedelta(weeks=1)
            if ("summary", week, u.email) not in sent:
                out.append({"kind": "summary", "email": u.email, "language": u.language, "week_start": week})
    return out


def _message(ws: Any, item: dict[str, Any]) -> tuple[str, str]:
    lang = item["language"] if item["language"] in TEXTS else "it"
    t = TEXTS[lang]
    label = review.week_label(item["week_start"])
    with ws.session() as s:
        if item["kind"] == "reminder":
            n = len(review.activities(s, item["team"], item["week_start"], item["week_start"]))
            link = f"{ws.settings.public_url.rstrip('/')}/review?lang={lang}"
            return (t["reminder"].format(team=item["team"], week=label),
                    t["reminder_body"].format(team=item["team"], n=n, link=link))
        rows = {r["team"]: r for r in review.weekly(s, None, item["week_start"], item["week_start"],
                                                     ws.settings.confidence, overall=False)}
        teams = review.known_teams(s)
    lines = [t["summary_head"].format(week=label), ""]
    for team in teams:
        r = rows.get(team)
        if r is None:
            lines.append(t["none"].format(team=team))
            continue
        lines.append(t["row"].format(team=team, n=r["activities"], share=round(100 * r["customer_share"]),
                                     lo=round(100 * r["customer_share_ci_low"]),
                                     hi=round(100 * r["customer_share_ci_high"]), value=_one(r["value"]),
                                     ease=_one(r["ease"]), pleasantness=_one(r["pleasantness"])))
    return t["summary"].format(week=label), "\n".join(lines) + "\n"


def _one(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def send_due(ws: Any, now: dt.datetime | None = None) -> dict[str, int]:
    """Send what is due (the hourly job). {'sent': n, 'failed': n}; without SMTP settings nothing is sent and
    nothing recorded, so the messages go once SMTP is configured (within the hour they are due)."""
    from momenti.domains.surveys.smtp import Mail, SmtpSender

    now = now or utcnow()
    counts = {"sent": 0, "failed": 0}
    if not ws.settings.smtp_host:
        return counts
    items = due(ws, now)
    if not items:
        return counts
    with SmtpSender(ws.settings) as smtp:
        for item in items:
            subject, body = _message(ws, item)
            result = smtp.send(Mail(to=item["email"], to_name=None, subject=f"[momenti] {subject}", text=body,
                                    language=item["language"], html="<pre>" + html.escape(body) + "</pre>"))
            counts["sent" if result.ok else "failed"] += 1
            if not result.ok:  # not recorded: the next hour of the same day tries again
                continue
            try:
                with ws.session() as s, s.begin():
                    s.add(ReviewMail(kind=item["kind"], week_start=item["week_start"], email=item["email"],
                                     status="sent", detail=None, at=now))
            except IntegrityError:  # another process sent it at the same moment
                pass
    return counts
