"""Arguments as people write them, in the CLI, the REST API and Python alike: comma lists and dates, with an
error that says what to write instead of a traceback."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import BeforeValidator

from momenti.core.errors import InputError

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def as_list(value: Sequence[str] | str | None) -> list[str]:
    """"a, b" or ["a", "b"] -> ["a", "b"] (blanks dropped)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [s.strip() for s in items if s and s.strip()]


def parse_day(text: str) -> dt.date:
    """"2026-03-01", or an ISO datetime ("2026-03-01T10:00:00Z": its date) -> a date; ValueError otherwise.
    Stricter than pydantic's date, which takes a bare number as seconds since 1970 (`to=0` was 1970-01-01)."""
    if _DAY.match(text):
        try:
            return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD")


def as_date(value: dt.date | str | None) -> dt.date | None:
    """"2026-03-01" or a date -> a date (None stays None)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return parse_day(value)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _day(value: object) -> object:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return parse_day(value)
    raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD")


# A date parameter of the REST API (and of any pydantic model): the same rule as `as_date`, a 422 naming it.
Day = Annotated[dt.date, BeforeValidator(_day)]
