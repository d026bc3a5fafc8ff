"""Arguments as people write them, in the CLI, the REST API and Python alike: comma lists and dates, with an
error that says what to write instead of a traceback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from momenti.errors import InputError


def as_list(value: Sequence[str] | str | None) -> list[str]:
    """"a, b" or ["a", "b"] -> ["a", "b"] (blanks dropped)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [s.strip() for s in items if s and s.strip()]


def as_date(value: dt.date | str | None) -> dt.date | None:
    """"2026-03-01" or a date -> a date (None stays None)."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not a date: write YYYY-MM-DD") from None
