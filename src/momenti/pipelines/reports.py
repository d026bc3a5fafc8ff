"""The management-meeting report by e-mail: the daily `report_mail` job (06:00 UTC) sends each recipient of
MOMENTI_REPORT_RECIPIENTS (`a@x.it:weekly,b@x.it:monthly`) the report of the period just ended — weekly on
Mondays for the ISO week before, monthly on the 1st for the month before — inline and attached as one HTML
file (self-contained: it opens offline, and it can be forwarded as it is).

What was sent is recorded in `reports-sent.json` in the data directory, one key per cadence, period and address,
written after each message the SMTP server accepted: a second run the same day sends nothing twice, and a
message that failed is tried again by the next run. A run that missed its day (the server was down on Monday,
the SMTP server refused) catches up on the next `CATCH_UP_DAYS` days. The file is read and written under an
exclusive lock, so two consumers of the same data directory (`momenti serve` and `momenti worker`) cannot both
send one report. A file, not a table: it is the job's own memory and needs no migration.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.domains.surveys.smtp import Mail, SmtpSender, build_message

log = logging.getLogger("momenti.reports")
SENT_FILE = "reports-sent.json"
CADENCES = ("weekly", "monthly")
CATCH_UP_DAYS = 2  # a report missed on its day is still sent on the next two days (not later: it would be stale)
_EMAIL = re.compile(r"[^@\s,:]+@[^@\s,:]+")
SUBJECT = {"it": "[momenti] Report per la riunione di direzione: {period}",
           "en": "[momenti] Report for the management meeting: {period}"}
BODY = {"it": "Il report di {period} è qui sotto e in allegato (un file HTML che si apre anche offline).\n\n"
              "Ogni cifra porta il suo n e l'intervallo di confidenza; i campioni piccoli sono segnati con *.\n",
        "en": "The report of {period} is below and attached (an HTML file that opens offline too).\n\n"
              "Every figure carries its n and confidence interval; small samples are marked with *.\n"}


@dataclass(frozen=True)
class Due:
    email: str
    cadence: str  # weekly | monthly
    period: str  # as parse_period reads it: 2026-W40, 2026-04

    @property
    def key(self) -> str:
        return f"{self.cadence}:{self.period}:{self.email}"


def parse_recipients(text: str) -> list[tuple[str, str]]:
    """`a@x.it:weekly, b@x.it:monthly` -> [(email, cadence)]; an address may take both cadences."""
    out: list[tuple[str, str]] = []
    for item in (p.strip() for p in (text or "").split(",")):
        if not item:
            continue
        email, _, cadence = item.rpartition(":")
        email, cadence = email.strip().lower(), cadence.strip().lower()
        if not _EMAIL.fullmatch(email) or cadence not in CADENCES:
            raise InputError(f"MOMENTI_REPORT_RECIPIENTS: {item!r}: write email:weekly or email:monthly, "
                             "comma-separated")
        if (email, cadence) not in out:
            out.append((email, cadence))
    return out


def period_due(cadence: str, today: dt.date) -> str | None:
    """The period whose report is due `today` (or caught up on), or None: weekly from Monday for the ISO week
    before, monthly from the 1st for the month before."""
    if cadence == "weekly":
        if today.weekday() > CATCH_UP_DAYS:
            return None
        year, week, _ = (today - dt.timedelta(days=today.weekday() + 7)).isocalendar()
        return f"{year}-W{week:02d}"
    if today.day > 1 + CATCH_UP_DAYS:
        return None
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def due(settings: Any, today: dt.date, sent: dict[str, Any]) -> list[Due]:
    out = []
    for email, cadence in parse_recipients(settings.report_recipients):
        period = period_due(cadence, today)
        if period is not None and Due(email, cadence, period).key not in sent:
            out.append(Due(email, cadence, period))
    return out


@contextlib.contextmanager
def _sent_book(settings: Any) -> Iterator[dict[str, Any]]:
    """The record of what was sent, locked for the run; written back (atomically) when the run ends."""
    path = Path(settings.data_dir) / SENT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # no fcntl (Windows): one consumer per data directory there
            pass
        book: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        try:
            yield book
        finally:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(book, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)


def _languages(ws: Any, emails: list[str]) -> dict[str, str]:
    """A recipient who is a user gets the report in their language; anyone else in Italian."""
    from sqlalchemy import func, select

    from momenti.store.access import User

    with ws.session() as s:
        rows = s.execute(select(func.lower(User.email), User.language).where(func.lower(User.email).in_(emails)))
        return {e: (lang if lang in ("it", "en") else "it") for e, lang in rows}


def message(page: str, item: Due, lang: str, title: str, sender: str) -> EmailMessage:
    """The report inline (the HTML part) and attached as `report-<period>.html`."""
    mail = Mail(to=item.email, to_name=None, subject=SUBJECT[lang].format(period=title),
                text=BODY[lang].format(period=title), html=page, language=lang)
    msg = build_message(mail, sender)
    msg.add_attachment(page.encode("utf-8"), maintype="text", subtype="html",
                       filename=f"report-{item.period}.html")
    return msg


def send_due(ws: Any, today: dt.date | None = None) -> dict[str, int]:
    """Send the reports due today (the daily job). {'sent', 'failed'}. Without recipients nothing happens;
    without SMTP settings nothing is sent and nothing recorded (they go once SMTP is configured)."""
    from momenti.domains.report import build, html

    today = today or utcnow().date()
    counts = {"sent": 0, "failed": 0}
    if not ws.settings.report_recipients.strip() or not ws.settings.smtp_host:
        return counts
    with _sent_book(ws.settings) as book:
        items = due(ws.settings, today, book)
        if not items:
            return counts
        langs = _languages(ws, sorted({i.email for i in items}))
        pages: dict[tuple[str, str], tuple[str, str]] = {}  # one build per period and language
        with SmtpSender(ws.settings) as smtp:
            for item in items:
                lang = langs.get(item.email, "it")
                if (item.period, lang) not in pages:
                    rep = build.report(ws, item.period, lang)
                    pages[(item.period, lang)] = (html.render(rep), html.period_title(rep))
                page, title = pages[(item.period, lang)]
                result = smtp.send_message(message(page, item, lang, title, ws.settings.smtp_from))
                if not result.ok:  # not recorded: the next run tries again
                    log.warning("report %s to %s not sent: %s", item.period, item.email, result.detail)
                    counts["failed"] += 1
                    continue
                book[item.key] = {"sent_at": utcnow().isoformat(timespec="seconds"),
                                  "message_id": result.message_id}
                counts["sent"] += 1
    return counts


def register_jobs(runner: Any) -> None:
    from huey import crontab

    # 06:00 UTC (Huey's crontab is in UTC): the report is in the mailbox before the working day starts.
    runner.task(lambda: send_due(runner.ws), "report_mail", periodic=crontab(minute="0", hour="6"))
