"""Contact-fatigue rules: who may be invited now, and why not.

- opted out (unsubscribed): never contacted, by any survey;
- sampling: a survey may invite only a share of its customers, chosen by a hash of (seed, customer) so the same
  customer is always in or always out (re-running an invitation never changes the sample);
- fatigue: at most one contact per customer per MOMENTI_FATIGUE_DAYS (default 30) across all surveys;
- quotas: at most `max_per_day` / `max_per_week` invitations per survey (rolling 24 hours / 7 days);
- quiet hours (MOMENTI_QUIET_HOURS, local time in MOMENTI_TIMEZONE): an e-mail planned then is deferred to the
  end of the quiet period, never dropped. Quiet hours are not a skip reason: `quiet_until` says when to send.

A contact is an invitation sent or about to be sent (`deferred`), or a widget answered; failed and bounced
e-mails never reached the customer and do not count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.store.models import ContactSkip, Invitation, ReachRule, Unsubscribe

if TYPE_CHECKING:
    from momenti.core.config import Settings
    from momenti.domains.context import Context

COUNTED = ("queued", "deferred", "sent", "answered")
REASONS = {
    "opted_out": "unsubscribed: never contacted again",
    "not_sampled": "outside the survey's sample",
    "fatigue": "contacted too recently",
    "quota_day": "the survey's daily quota is full",
    "quota_week": "the survey's weekly quota is full",
    "no_email": "no e-mail address",
    "already_invited": "already invited for this event",
}
_CHUNK = 500  # customers per IN (...) query


@dataclass
class Rules:
    max_per_day: int | None = None
    max_per_week: int | None = None
    sample_rate: float = 1.0
    sample_seed: str = ""


def get_rules(ws: Context, survey_key: str) -> Rules:
    with ws.session() as s:
        row = s.get(ReachRule, survey_key)
    if row is None:
        return Rules()
    return Rules(row.max_per_day, row.max_per_week, row.sample_rate, row.sample_seed)


def set_rules(ws: Context, survey_key: str, rules: Rules, now: dt.datetime | None = None) -> Rules:
    if not 0.0 <= rules.sample_rate <= 1.0:
        raise InputError(f"sample rate {rules.sample_rate} outside 0..1")
    for name in ("max_per_day", "max_per_week"):
        value = getattr(rules, name)
        if value is not None and value < 0:
            raise InputError(f"{name} must be 0 or more, not {value}")
    with ws.session() as s, s.begin():
        row = s.get(ReachRule, survey_key) or ReachRule(survey_key=survey_key)
        row.max_per_day, row.max_per_week = rules.max_per_day, rules.max_per_week
        row.sample_rate, row.sample_seed = rules.sample_rate, rules.sample_seed
        row.updated_at = now or utcnow()
        s.add(row)
    return rules


def sampled(customer_id: str, survey_key: str, rate: float, seed: str = "") -> bool:
    """Deterministic: the same (seed, survey, customer) always gives the same answer; about `rate` of all
    customers are in. The survey key is part of the hash so two surveys at 10 % do not pick the same 10 %."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"{seed}\x1f{survey_key}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


# -- quiet hours -------------------------------------------------------------------------------------------


def _minutes(text: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(text)
    return value % (24 * 60)


def parse_quiet_hours(text: str | None) -> tuple[int, int] | None:
    """'21-8' or '21:30-07:45' -> (start, end) in minutes after local midnight; '' -> None (no quiet hours)."""
    if not text or not text.strip():
        return None
    try:
        start, end = (_minutes(part) for part in text.split("-", 1))
    except ValueError as exc:
        raise InputError(f"MOMENTI_QUIET_HOURS {text!r}: write start-end in local hours, e.g. 21-8") from exc
    return None if start == end else (start, end)


def _zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"MOMENTI_TIMEZONE {settings.timezone!r} is not a known time zone") from exc


def quiet_until(now: dt.datetime, settings: Settings) -> dt.datetime | None:
    """If `now` (naive UTC) falls in the quiet hours, when they end (naive UTC); None otherwise."""
    window = parse_quiet_hours(settings.quiet_hours)
    return quiet_end(now, window, _zone(settings)) if window is not None else None


def quiet_end(now: dt.datetime, window: tuple[int, int], zone: ZoneInfo) -> dt.datetime | None:
    """The end (naive UTC) of the quiet `window` (minutes after local midnight, see parse_quiet_hours) when
    `now` (naive UTC) falls in it, else None. Also the staff notifications' quiet hours (domains/loop)."""
    local = now.replace(tzinfo=dt.UTC).astimezone(zone)
    minute = local.hour * 60 + local.minute
    start, end = window
    quiet = start <= minute < end if start < end else (minute >= start or minute < end)
    if not quiet:
        return None
    day = local.date() if minute < end else local.date() + dt.timedelta(days=1)
    # Built as a wall-clock time in the zone, so a DST change in the night still ends at the local hour.
    end_local = dt.datetime.combine(day, dt.time(end // 60, end % 60), tzinfo=zone)
    return end_local.astimezone(dt.UTC).replace(tzinfo=None)


# -- the gate ----------------------------------------------------------------------------------------------


class Gate:
    """The fatigue rules for a batch, read from the store once; `record` keeps it current as the batch plans
    invitations, so a batch of a thousand contacts costs a few queries, not thousands."""

    def __init__(self, ws: Context, now: dt.datetime | None = None,
                 customers: Iterable[str] | None = None) -> None:
        self.ws = ws
        self.now = now or utcnow()
        self.days = ws.settings.fatigue_days
        self._rules: dict[str, Rules] = {}
        self._counts: dict[str, list[int]] = {}  # survey -> [last 24 h, last 7 days]
        keys = None if customers is None else list(dict.fromkeys(str(c) for c in customers))
        since = self.now - dt.timedelta(days=self.days)
        self.opted_out: set[str] = set()
        self.last_contact: dict[str, tuple[dt.datetime, str]] = {}
        with ws.engine.connect() as conn:
            for chunk in _chunks(keys):
                q = select(Unsubscribe.customer_key)
                if chunk is not None:
                    q = q.where(Unsubscribe.customer_key.in_(chunk))
                self.opted_out.update(r[0] for r in conn.execute(q))
                q = (select(Invitation.customer_key, func.max(Invitation.planned_at), func.max(Invitation.survey_key))
                     .where(Invitation.status.in_(COUNTED), Invitation.planned_at > since)
                     .group_by(Invitation.customer_key))
                if chunk is not None:
                    q = q.where(Invitation.customer_key.in_(chunk))
                for customer, at, survey in conn.execute(q):
                    self.last_contact[customer] = (at, survey)

    def rules(self, survey_key: str) -> Rules:
        if survey_key not in self._rules:
            self._rules[survey_key] = get_rules(self.ws, survey_key)
        return self._rules[survey_key]

    def _survey_counts(self, survey_key: str) -> list[int]:
        if survey_key not in self._counts:
            day, week = self.now - dt.timedelta(days=1), self.now - dt.timedelta(days=7)
            base = [Invitation.survey_key == survey_key, Invitation.status.in_(COUNTED)]
            with self.ws.engine.connect() as conn:
                n_day = conn.execute(select(func.count()).where(*base, Invitation.planned_at > day)).scalar_one()
                n_week = conn.execute(select(func.count()).where(*base, Invitation.planned_at > week)).scalar_one()
            self._counts[survey_key] = [int(n_day), int(n_week)]
        return self._counts[survey_key]

    def reason(self, customer_id: str, survey_key: str) -> tuple[str, str] | None:
        """(reason code, human detail) to skip this customer for this survey now, or None to go ahead."""
        customer_id = str(customer_id)
        if customer_id in self.opted_out:
            return "opted_out", REASONS["opted_out"]
        rules = self.rules(survey_key)
        if not sampled(customer_id, survey_key, rules.sample_rate, rules.sample_seed):
            return "not_sampled", f"outside the {100 * rules.sample_rate:g} % sample"
        last = self.last_contact.get(customer_id)
        if last is not None:
            return "fatigue", (f"contacted {last[0]:%Y-%m-%d %H:%M} UTC ({last[1]}); at most one invitation "
                               f"per {self.days} days")
        n_day, n_week = self._survey_counts(survey_key)
        if rules.max_per_day is not None and n_day >= rules.max_per_day:
            return "quota_day", f"{n_day} invitations in the last 24 hours (max {rules.max_per_day})"
        if rules.max_per_week is not None and n_week >= rules.max_per_week:
            return "quota_week", f"{n_week} invitations in the last 7 days (max {rules.max_per_week})"
        return None

    def record(self, customer_id: str, survey_key: str, at: dt.datetime | None = None) -> None:
        """A contact was just planned: later customers of the batch see it."""
        self.last_contact[str(customer_id)] = (at or self.now, survey_key)
        counts = self._survey_counts(survey_key)
        counts[0] += 1
        counts[1] += 1


def _chunks(keys: list[str] | None) -> Iterable[list[str] | None]:
    if keys is None:
        yield None
        return
    for i in range(0, len(keys), _CHUNK):
        yield keys[i:i + _CHUNK]


def check(ws: Context, customer_id: str, survey_key: str, now: dt.datetime | None = None) -> str | None:
    """The reason code to skip contacting `customer_id` for `survey_key` now (see REASONS), or None."""
    found = Gate(ws, now, [customer_id]).reason(customer_id, survey_key)
    return None if found is None else found[0]


def log_skips(ws: Context, skips: list[dict]) -> None:
    """Record skipped invitations: dicts with survey_key, customer_key, reason, detail, trigger_event, at."""
    if skips:
        with ws.engine.begin() as conn:
            conn.execute(insert(ContactSkip), skips)


def unsubscribe(ws: Context, customer_id: str, email: str | None = None, source: str = "link",
                now: dt.datetime | None = None) -> bool:
    """Opt a customer out of every future invitation. True if newly opted out, False if already."""
    try:
        with ws.session() as s, s.begin():
            if s.get(Unsubscribe, str(customer_id)) is not None:
                return False
            s.add(Unsubscribe(customer_key=str(customer_id), email=email, source=source, at=now or utcnow()))
    except IntegrityError:  # the same link clicked twice at once: the other request opted them out
        return False
    return True


def is_opted_out(ws: Context, customer_id: str) -> bool:
    with ws.session() as s:
        return s.get(Unsubscribe, str(customer_id)) is not None
