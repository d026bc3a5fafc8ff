"""Times as the store keeps them: naive datetimes in UTC."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware time converted to naive UTC; a naive one is taken as UTC already (None stays None)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def as_datetime(value: dt.datetime | str) -> dt.datetime:
    """A time read back by raw SQL: SQLite returns the stored text, PostgreSQL a datetime."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
