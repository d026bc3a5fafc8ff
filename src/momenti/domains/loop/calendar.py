"""Business time: which moments count towards an SLA, and how far a budget of business hours reaches.

An SLA promises "first contact within 16 business hours", not within 16 hours: evenings, weekends, public
holidays and company closures do not count. The store keeps every time as a naive datetime in UTC, while
business hours are a local notion ("09:00-18:00 in Rome"), so each local day's opening and closing are
converted to UTC through `zoneinfo`. That makes the arithmetic DST-safe: the Monday after the clocks change
still opens at 09:00 local, one hour earlier or later in UTC.

The arithmetic steps a local day at a time (never a second at a time): a day contributes the overlap of its
one opening window with the interval asked about. A budget of 2,000 business hours is then ~300 small steps.
Public holidays come from the `holidays` package and are cached per (country, year).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from momenti.core.clock import naive_utc

__all__ = ["WEEKDAYS", "BusinessCalendar"]

# workday names accepted by from_dict, Monday = 0 as in date.weekday()
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_KEYS = frozenset({"timezone", "workdays", "hours", "country", "holidays", "always_open"})
# how many consecutive closed days a search may cross before giving up: no real calendar is closed for ten
# years, so hitting this means a configuration (e.g. a huge closure list) that would otherwise never end
_MAX_CLOSED_DAYS = 3660


@lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> frozenset[dt.date]:
    # building a holidays object computes the whole year (Easter etc.): once per country and year is enough
    return frozenset(holidays.country_holidays(country, years=year).keys())


def _to_utc(value: dt.datetime) -> dt.datetime:
    # the store's times are naive UTC; an aware time is accepted and normalised rather than compared wrongly
    out = naive_utc(value)
    assert out is not None
    return out


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in a time zone, on some weekdays, minus public holidays and company closures.

    `always_open=True` is wall-clock time (24/7): every second counts and no calendar applies at all.
    """

    timezone: str = "Europe/Rome"
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(18, 0)
    country: str | None = "IT"  # public holidays from `holidays`; None: no public holidays
    extra_holidays: tuple[dt.date, ...] = ()  # company closures
    always_open: bool = False
    _tz: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _closures: frozenset[dt.date] = field(init=False, repr=False, compare=False, hash=False)
    # each day's window, computed once: a queue of thousands of clocks walks the same days again and again
    _windows: dict[dt.date, tuple[dt.datetime, dt.datetime] | None] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as e:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from e
        if not self.always_open:
            # no workday would make every search for the next opening run forever
            if not self.workdays:
                raise ValueError("workdays: a calendar needs at least one workday (or always_open)")
            bad = [d for d in self.workdays if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6]
            if bad:
                raise ValueError(f"workdays: {bad[0]!r} is not a weekday number 0 (Monday) .. 6 (Sunday)")
            if not (isinstance(self.opens, dt.time) and isinstance(self.closes, dt.time)):
                raise ValueError("hours: opens and closes must be datetime.time values")
            if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
                raise ValueError("hours: opens and closes are local times of the calendar's zone, without tzinfo")
            # an empty or overnight window is not supported: each local day has one window inside that day
            if self.opens >= self.closes:
                raise ValueError(f"hours: opening {self.opens:%H:%M} must be before closing {self.closes:%H:%M}")
        if self.country is not None and self.country not in holidays.list_supported_countries():
            raise ValueError(f"country: {self.country!r} has no public holidays in the holidays package")
        bad_days = [d for d in self.extra_holidays if not isinstance(d, dt.date) or isinstance(d, dt.datetime)]
        if bad_days:
            raise ValueError(f"holidays: {bad_days[0]!r} is not a date")
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_closures", frozenset(self.extra_holidays))

    # -- reading a configuration ----------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BusinessCalendar:
        """A calendar from its configuration (YAML/JSON): keys `timezone`, `workdays` (numbers 0-6 with
        Monday = 0, or names "mon".."sun"), `hours` ("09:00-18:00"), `country` (a code, or null for no public
        holidays), `holidays` (ISO dates of company closures), `always_open`. Missing keys take the defaults;
        an unknown key or a bad value is a ValueError naming it."""
        if not isinstance(d, dict):
            raise ValueError(f"calendar: expected a mapping, got {type(d).__name__}")
        unknown = sorted(set(map(str, d)) - _KEYS)
        if unknown:
            raise ValueError(f"calendar: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
        kw: dict[str, Any] = {}
        if "timezone" in d:
            if not isinstance(d["timezone"], str) or not d["timezone"].strip():
                raise ValueError(f"timezone: expected a time zone name such as 'Europe/Rome', got {d['timezone']!r}")
            kw["timezone"] = d["timezone"].strip()
        if "workdays" in d:
            kw["workdays"] = _parse_workdays(d["workdays"])
        if "hours" in d:
            kw["opens"], kw["closes"] = _parse_hours(d["hours"])
        if "country" in d:
            country = d["country"]
            if country is not None and (not isinstance(country, str) or not country.strip()):
                raise ValueError(f"country: expected a country code such as 'IT' or null, got {country!r}")
            kw["country"] = country.strip().upper() if country is not None else None
        if "holidays" in d:
            kw["extra_holidays"] = _parse_dates(d["holidays"])
        if "always_open" in d:
            if not isinstance(d["always_open"], bool):
                raise ValueError(f"always_open: expected true or false, got {d['always_open']!r}")
            kw["always_open"] = d["always_open"]
        return cls(**kw)

    # -- questions about days and moments -------------------------------------------------------------------

    def is_holiday(self, day: dt.date) -> bool:
        """A public holiday of the country or a company closure. Always False for an always-open calendar,
        which has no calendar at all."""
        if self.always_open:
            return False
        if day in self._closures:
            return True
        return self.country is not None and day in _public_holidays(self.country, day.year)

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether `moment` (naive UTC) is inside business hours; opening is inclusive, closing exclusive."""
        if self.always_open:
            return True
        moment = _to_utc(moment)
        window = self._window(self._local_date(moment))
        return window is not None and window[0] <= moment < window[1]

    def business_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Open seconds in [start, end) (naive UTC); 0 when end <= start."""
        start, end = _to_utc(start), _to_utc(end)
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total = 0.0
        # every window meeting [start, end) belongs to a local date between the two ends' local dates
        for day in _days(self._local_date(start), self._local_date(end)):
            window = self._window(day)
            if window is None:
                continue
            lo, hi = max(window[0], start), min(window[1], end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total

    def add_business_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The earliest moment m >= start (naive UTC) with business_seconds(start, m) == seconds.

        `seconds == 0` gives `start` itself, open or not (nothing has to elapse). A budget that ends exactly
        at a closing time gives that closing time, not the next opening: it is the earliest such moment.
        """
        start = _to_utc(start)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            raise ValueError(f"seconds: expected a finite number, got {seconds!r}")
        if seconds < 0:
            raise ValueError(f"seconds: expected a non-negative number, got {seconds!r}")
        if seconds == 0:
            return start
        if self.always_open:
            return start + dt.timedelta(seconds=seconds)
        remaining = float(seconds)
        closed_run = 0
        day = self._local_date(start)
        while True:
            window = self._window(day)
            if window is not None and window[1] > start:
                lo = max(window[0], start)
                available = (window[1] - lo).total_seconds()
                if remaining <= available:
                    return lo + dt.timedelta(seconds=remaining)
                remaining -= available
                closed_run = 0
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_DAYS:
                    raise ValueError(f"calendar has no open day in the {_MAX_CLOSED_DAYS} days after {day}")
            day += dt.timedelta(days=1)

    # -- internals ------------------------------------------------------------------------------------------

    def _local_date(self, moment: dt.datetime) -> dt.date:
        return moment.replace(tzinfo=dt.UTC).astimezone(self._tz).date()

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The local day's opening window in naive UTC, None when the day is closed.

        Local times are converted with fold=0: an opening inside a DST gap (02:30 on the spring-forward night)
        maps to the instant an hour later, one in the repeated hour to its first occurrence.
        """
        if day in self._windows:
            return self._windows[day]
        window = None
        if day.weekday() in self.workdays and not self.is_holiday(day):
            lo = dt.datetime.combine(day, self.opens, tzinfo=self._tz).astimezone(dt.UTC).replace(tzinfo=None)
            hi = dt.datetime.combine(day, self.closes, tzinfo=self._tz).astimezone(dt.UTC).replace(tzinfo=None)
            window = (lo, hi) if hi > lo else None
        if len(self._windows) > 20_000:  # about 55 years of days: a bound, not a limit anyone meets
            self._windows.clear()
        self._windows[day] = window
        return window


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _parse_workdays(value: Any) -> tuple[int, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"workdays: expected a list of weekdays, got {value!r}")
    out: list[int] = []
    for item in value:
        if isinstance(item, bool):
            raise ValueError(f"workdays: {item!r} is not a weekday")
        if isinstance(item, int):
            if not 0 <= item <= 6:
                raise ValueError(f"workdays: {item!r} is not a weekday number 0 (Monday) .. 6 (Sunday)")
            day = item
        elif isinstance(item, str) and item.strip().lower() in WEEKDAYS + _FULL_WEEKDAYS:
            name = item.strip().lower()
            day = WEEKDAYS.index(name) if name in WEEKDAYS else _FULL_WEEKDAYS.index(name)
        else:
            raise ValueError(f"workdays: {item!r} is not a weekday (0-6 with Monday = 0, or 'mon'..'sun')")
        if day not in out:  # a repeated day is harmless; keep each once
            out.append(day)
    if not out:
        raise ValueError("workdays: a calendar needs at least one workday (or always_open)")
    return tuple(sorted(out))


def _parse_hours(value: Any) -> tuple[dt.time, dt.time]:
    m = _HOURS.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"hours: expected 'HH:MM-HH:MM' such as '09:00-18:00', got {value!r}")
    h1, m1, h2, m2 = map(int, m.groups())
    if not (h1 <= 23 and m1 <= 59 and h2 <= 23 and m2 <= 59):
        raise ValueError(f"hours: {value!r} is not a pair of times of day (00:00 .. 23:59)")
    opens, closes = dt.time(h1, m1), dt.time(h2, m2)
    if opens >= closes:
        raise ValueError(f"hours: opening must be before closing within the day, got {value!r}")
    return opens, closes


def _parse_dates(value: Any) -> tuple[dt.date, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"holidays: expected a list of ISO dates, got {value!r}")
    out: list[dt.date] = []
    for item in value:
        # YAML reads an unquoted 2026-12-24 as a date already; a quoted one arrives as a string
        if isinstance(item, dt.date) and not isinstance(item, dt.datetime):
            out.append(item)
            continue
        try:
            if not isinstance(item, str):
                raise ValueError(item)
            out.append(dt.date.fromisoformat(item.strip()))
        except ValueError as e:
            raise ValueError(f"holidays: {item!r} is not an ISO date (YYYY-MM-DD)") from e
    return tuple(sorted(set(out)))
