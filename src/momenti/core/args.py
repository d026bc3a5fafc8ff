"""Arguments as people write them, in the CLI, the REST API and Python alike: comma lists and dates, with an
error that says what to write instead of a traceback."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
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


# -- filters: one grammar for the CLI (--filter), the REST API (?filter=) and Python (filters=) --------------

Filters = dict[str, list[str]]
# What a Python caller may pass as `filters=`: a dict, or the strings the CLI and the REST API take.
FilterArg = Mapping[str, Sequence[str] | str] | Sequence[str] | str | None
FILTER_HELP = ("dimension=value[,value] or dimension:value[,value] (repeatable), e.g. touchpoint:app-login, "
               "channel=app,web, segment:tier:gold or segment:tier=gold")


def _one_filter(item: str) -> tuple[str, list[str]]:
    # "=" wins when present, so a value may hold colons ("segment:tier=gold", "reason=a:b"); without it the
    # first colon separates, except after "segment:" whose attribute is named after a second colon.
    if "=" in item:
        dim, _, values = item.partition("=")
    elif item.startswith("segment:") and item.count(":") >= 2:
        attr, _, values = item[len("segment:"):].partition(":")
        dim = f"segment:{attr}"
    else:
        dim, _, values = item.partition(":")
    vals = as_list(values)
    if not dim.strip() or not vals:
        raise InputError(f"filter {item!r}: write dimension=value or dimension:value, e.g. touchpoint:app-login")
    return dim.strip(), vals


def parse_filters(value: FilterArg) -> Filters:
    """'touchpoint:a,b', 'channel=app', a list of those, or a dict {dim: values} -> {dim: [values]}."""
    out: Filters = {}
    if value is None:
        return out
    if isinstance(value, Mapping):
        for dim, vals in value.items():
            out.setdefault(str(dim).strip(), []).extend(as_list(vals))
        return out
    for item in [value] if isinstance(value, str) else value:
        dim, vals = _one_filter(str(item))
        out.setdefault(dim, []).extend(vals)
    return out


# -- durations ---------------------------------------------------------------------------------------------

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(value: str | float | dt.timedelta | None, what: str = "duration") -> float | None:
    """'30d', '12h', '90m', '45s', '2w' (a bare number is seconds, or a timedelta) -> seconds; None or '' ->
    None. Zero or less is refused: every duration here is a window or a gap."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.fullmatch(str(value).lower())
        if not m:
            raise InputError(f"{what} {value!r}: write a number and a unit, e.g. 30d, 12h, 90m, 45s or 2w")
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds <= 0:
        raise InputError(f"{what} must be positive (got {value!r})")
    if not math.isfinite(seconds):  # nan passed `<= 0` and inf ("9" * 400) was returned as a duration
        raise InputError(f"{what} {value!r}: not a finite number of seconds")
    return seconds


def parse_duration(value: str | float | dt.timedelta, what: str = "duration") -> dt.timedelta:
    """'30d', '24h', '90m', '2w', '45s' -> timedelta."""
    seconds = duration_seconds(value, what)
    if seconds is None:
        raise InputError(f"{what}: write a number and a unit, e.g. 30d, 12h, 90m, 45s or 2w")
    try:
        return dt.timedelta(seconds=seconds)
    except OverflowError:  # "99999999999d" is past timedelta's 999,999,999 days: it leaked out as OverflowError
        raise InputError(f"{what} {value!r}: too long (at most 999,999,999 days)") from None
