"""Property-based tests (hypothesis) of momenti's small parsers: the argument grammar, times, periods and weeks,
and the REST JSON body. The survey and rule YAML, the file readers and the import's validation have their own
files (test_parser_documents.py, test_parser_files.py, test_parser_imports.py); the settings and strategies they
share are in parser_common.py.

Two kinds of property: *never a crash* (any text or bytes give a result or the project's typed error, never
an IndexError, a UnicodeDecodeError, a RecursionError... and never a dead process), and *round trips* (what a
writer wrote, the reader gives back: values, count and order, repeats and ties included). Each bug these tests
found is kept as an explicit `@example`, next to the fix's comment in the source.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from momenti.core.args import Day, as_date, as_list, duration_seconds, parse_duration, parse_filters
from momenti.core.clock import as_datetime, naive_utc
from momenti.core.errors import InputError
from momenti.domains.story.review import week_label, week_start
from momenti.insights.scores.compare import parse_period
from momenti.server.records import MAX_JSON_DEPTH, BodyError, json_depth, parse_json
from parser_common import PURE

# == the argument grammar (core/args.py) ======================================================================

DIM = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="=:,"), min_size=1, max_size=10) \
    .filter(lambda s: s.strip() and not s.strip().startswith("segment"))
VALUE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=","), min_size=1, max_size=10) \
    .filter(lambda s: s.strip())


@PURE
@given(st.one_of(st.text(max_size=40), st.lists(st.text(max_size=20), max_size=4)))
@example("segment:")
@example("segment:tier:")
@example(["=", ":x"])
def test_parse_filters_never_crashes(value: str | list[str]) -> None:
    try:
        out = parse_filters(value)
    except InputError:
        return
    assert bool(out) == bool(value), "a filter given always names something"
    for dim, vals in out.items():
        assert dim and dim == dim.strip()
        assert vals and all(v and v == v.strip() and "," not in v for v in vals)


@PURE
@given(st.lists(st.tuples(DIM, st.lists(VALUE, min_size=1, max_size=3)), min_size=1, max_size=3),
       st.sampled_from("=:"), st.booleans())
def test_parse_filters_round_trip(items: list[tuple[str, list[str]]], sep: str, one_string: bool) -> None:
    if sep == ":":  # without "=" the first colon separates: the values may hold neither
        items = [(d, [v for v in vals if ":" not in v and "=" not in v]) for d, vals in items]
        items = [(d, vals) for d, vals in items if vals]
    written = [f"{d}{sep}{','.join(vals)}" for d, vals in items]
    want: dict[str, list[str]] = {}
    for d, vals in items:
        want.setdefault(d.strip(), []).extend(v.strip() for v in vals)
    if not written:
        return
    assert parse_filters(written) == want
    if one_string and len(written) == 1:
        assert parse_filters(written[0]) == want
    # A mapping gives the same, its values as lists or as comma strings.
    as_map = {d: ",".join(vals) for d, vals in want.items()}
    assert parse_filters(as_map) == want


@PURE
@given(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), st.lists(st.from_regex(r"[a-z0-9][a-z0-9 ]{0,6}",
                                                                               fullmatch=True), min_size=1, max_size=3),
       st.sampled_from(":="))
def test_parse_filters_segment(attr: str, values: list[str], sep: str) -> None:
    assert parse_filters(f"segment:{attr}{sep}{','.join(values)}") == {f"segment:{attr}": [v.strip() for v in values]}


@PURE
@given(st.one_of(st.none(), st.text(max_size=30), st.lists(st.text(max_size=8), max_size=5)))
def test_as_list(value: str | list[str] | None) -> None:
    out = as_list(value)
    items = [] if value is None else value.split(",") if isinstance(value, str) else value
    assert out == [s.strip() for s in items if s.strip()]


UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@PURE
@given(st.text(max_size=24))
@example("99999999999d")  # was OverflowError from timedelta
@example("9" * 400)  # was inf seconds, then OverflowError
@example("0d")
def test_duration_never_crashes(text: str) -> None:
    try:
        seconds = duration_seconds(text)
    except InputError:
        seconds = "refused"
    if text == "":
        assert seconds is None
    elif seconds != "refused":
        assert isinstance(seconds, float) and math.isfinite(seconds) and seconds > 0
    try:
        delta = parse_duration(text)
    except InputError:
        return
    assert delta > dt.timedelta(0)


@PURE
@given(st.from_regex(r"[0-9]{1,7}(\.[0-9]{1,3})?", fullmatch=True), st.sampled_from(list(UNITS)), st.booleans(),
       st.sampled_from(["", " ", "  "]))
def test_duration_seconds_by_unit(number: str, unit: str, upper: bool, pad: str) -> None:
    text = f"{pad}{number}{pad}{unit.upper() if upper else unit}{pad}"
    want = float(number) * UNITS[unit]
    if want == 0:
        with pytest.raises(InputError):
            duration_seconds(text)
        return
    assert duration_seconds(text) == want
    assert parse_duration(text) == dt.timedelta(seconds=want)


@PURE
@given(st.one_of(st.floats(), st.integers(-10**12, 10**12), st.timedeltas()))
@example(float("nan"))  # nan passed `<= 0` and came back as a duration
@example(float("inf"))
def test_duration_numbers(value: float | int | dt.timedelta) -> None:
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        with pytest.raises(InputError):
            duration_seconds(value)
    else:
        assert duration_seconds(value) == seconds


def test_duration_examples() -> None:
    assert parse_duration("30d") == dt.timedelta(days=30)
    assert parse_duration("24h") == dt.timedelta(hours=24)
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    assert parse_duration("2w") == dt.timedelta(weeks=2)
    assert parse_duration("45s") == parse_duration("45") == dt.timedelta(seconds=45)
    assert duration_seconds(None) is None and duration_seconds("") is None


_DAY_ADAPTER = TypeAdapter(Day)


@PURE
@given(st.text(max_size=30))
@example("2026-03-01T25:00:00")
@example("2026-02-30")
def test_as_date_never_crashes(text: str) -> None:
    try:
        got = as_date(text)
    except InputError:
        with pytest.raises(ValidationError):  # the REST parameter refuses what as_date refuses
            _DAY_ADAPTER.validate_python(text)
        return
    assert isinstance(got, dt.date) and not isinstance(got, dt.datetime)
    assert _DAY_ADAPTER.validate_python(text) == got


OFFSETS = st.builds(dt.timezone, st.timedeltas(dt.timedelta(hours=-12), dt.timedelta(hours=14)).map(
    lambda d: dt.timedelta(minutes=d // dt.timedelta(minutes=1))))


@PURE
@given(st.dates(), st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC), OFFSETS)))
def test_as_date_round_trip(day: dt.date, when: dt.datetime) -> None:
    assert as_date(day.isoformat()) == day
    assert as_date(day) is day and as_date(None) is None
    assert _DAY_ADAPTER.validate_python(day.isoformat()) == day
    assert as_date(when.isoformat()) == when.date()  # a datetime: its own date, as written


# == times read back by raw SQL (core/clock.py) ===============================================================

@PURE
@given(st.datetimes(), st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                                    timezones=OFFSETS))  # fixed offsets: a named zone's times in a DST gap
# do not exist, and compare unequal to their own text
def test_as_datetime_round_trip(naive: dt.datetime, aware: dt.datetime) -> None:
    assert as_datetime(naive) is naive
    assert as_datetime(naive.isoformat()) == naive
    assert as_datetime(str(naive)) == naive  # SQLite's text: a space between date and time
    assert as_datetime(naive.isoformat(sep=" ", timespec="microseconds")) == naive
    assert as_datetime(aware.isoformat()) == aware
    utc = naive_utc(aware)
    assert utc is not None and utc.tzinfo is None and utc.replace(tzinfo=dt.UTC) == aware
    assert naive_utc(naive) is naive and naive_utc(None) is None


# == periods (insights/scores/compare.py) and weeks (domains/story/review.py) =================================

@PURE
@given(st.text(max_size=30))
@example("9999-W52")  # was OverflowError: its Sunday is past 9999-12-31
@example("..".join(["2025"] * 2000))  # was RecursionError
@example("2025-W53")
@example("0000-01")
def test_parse_period_never_crashes(text: str) -> None:
    try:
        start, end, label = parse_period(text)
    except InputError:
        return
    assert isinstance(start, dt.date) and isinstance(end, dt.date) and isinstance(label, str)
    if ".." not in text:
        assert start <= end


@PURE
@given(st.integers(1, 9999), st.integers(1, 12))
@example(9999, 12)  # was InputError "year 10000 is out of range"
def test_parse_period_month(year: int, month: int) -> None:
    start, end, label = parse_period(f"{year:04d}-{month:02d}")
    days = calendar.monthrange(year, month)[1]
    assert (start, end, label) == (dt.date(year, month, 1), dt.date(year, month, days), f"{year:04d}-{month:02d}")
    assert (end - start).days + 1 == days


@PURE
@given(st.integers(1, 9999), st.integers(1, 4), st.sampled_from("Qq"))
@example(9999, 4, "Q")  # was InputError "year 10000 is out of range"
def test_parse_period_year_and_quarter(year: int, quarter: int, q: str) -> None:
    assert parse_period(f"{year:04d}") == (dt.date(year, 1, 1), dt.date(year, 12, 31), f"{year:04d}")
    start, end, label = parse_period(f" {year:04d}-{q}{quarter} ")
    months = range(3 * quarter - 2, 3 * quarter + 1)
    assert start == dt.date(year, months[0], 1) and label == f"{year:04d}-Q{quarter}"
    assert (end - start).days + 1 == sum(calendar.monthrange(year, m)[1] for m in months)
    assert end == dt.date(year, months[-1], calendar.monthrange(year, months[-1])[1])


@PURE
@given(st.dates(), st.sampled_from("Ww"))
def test_parse_period_iso_week_and_day(day: dt.date, w: str) -> None:
    year, week, weekday = day.isocalendar()
    monday = day - dt.timedelta(days=weekday - 1)
    text = f"{year:04d}-{w}{week:02d}"
    if dt.date.max - monday < dt.timedelta(days=6):
        with pytest.raises(InputError):
            parse_period(text)
    else:
        assert parse_period(text) == (monday, monday + dt.timedelta(days=6), text.upper())
    assert parse_period(day.isoformat()) == (day, day, day.isoformat())


@PURE
@given(st.dates(), st.dates())
def test_parse_period_range(a: dt.date, b: dt.date) -> None:
    text = f"{a.isoformat()}..{b.year:04d}-{b.month:02d}"
    assert parse_period(text) == (a, dt.date(b.year, b.month, calendar.monthrange(b.year, b.month)[1]), text)
    with pytest.raises(InputError):
        parse_period(f"{text}..{a.isoformat()}")


@PURE
@given(st.one_of(st.dates(), st.datetimes()))
@example(dt.date(999, 5, 5))  # the label was "999-W18", which week_start did not read back
@example(dt.date(1, 1, 1))
@example(dt.date.max)
def test_week_start(day: dt.date | dt.datetime) -> None:
    monday = week_start(day)
    date = day.date() if isinstance(day, dt.datetime) else day
    assert type(monday) is dt.date and monday.weekday() == 0
    assert 0 <= (date - monday).days <= 6
    label = week_label(monday)
    assert re.fullmatch(r"\d{4}-W\d{2}", label)
    assert week_start(label) == monday
    assert week_start(label.replace("-", "").lower()) == monday  # "2026w40" too
    assert week_start(date.isoformat()) == monday


@PURE
@given(st.text(max_size=20))
@example("2026-W54")
@example("0000-W01")
def test_week_start_never_crashes(text: str) -> None:
    try:
        monday = week_start(text)
    except InputError:
        return
    assert monday.weekday() == 0


# == the REST JSON body (server/records.py) ===================================================================

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=8), st.sampled_from(['"', "\\", "[", "]{", '\\"[', "\x00", "\U0001f600"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=5), st.sampled_from(["[", '"', "{}"])),
                                            inner, max_size=4)),
    max_leaves=20,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)


def _nested(value: Any, levels: list[bool]) -> Any:
    for as_list_ in levels:
        value = [value] if as_list_ else {"k": value}
    return value


@PURE
@given(JSON_VALUES, st.lists(st.booleans(), max_size=40), st.booleans(), st.sampled_from([None, 0, 2]),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]))
def test_parse_json_round_trip(value: Any, levels: list[bool], ascii_only: bool, indent: int | None,
                               encoding: str) -> None:
    value = _nested(value, levels)
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert json_depth(text.encode("utf-8")) == _depth(value)
    raw = text.encode(encoding)
    if _depth(value) > MAX_JSON_DEPTH:
        with pytest.raises(BodyError, match="levels deep"):
            parse_json(raw)
    elif any("\x00" in s for s in _strings(value)):
        with pytest.raises(BodyError, match="NUL"):
            parse_json(raw)
    else:
        assert parse_json(raw) == value


JSON_BYTES = st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b":", b",", b"1", b"-", b"e", b".", b" ",
                                       b"\n", b"null", b"true", b'"k"', b"\\u0000", b"\\ud800", b"\\udc00",
                                       b"\\ud83d\\ude00", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xed\xa0\x80",
                                       b"\xc3\xa8", b"\xe8", b"NaN", b"Infinity", b"1" * 50]),
                      max_size=40).map(b"".join)


@PURE
@given(st.one_of(st.binary(max_size=200), JSON_BYTES))
@example(b"1" * 5000)  # was ValueError: more than 4,300 digits
@example(('["\u2200", ' + "[" * 100_000 + "]" * 100_000 + ', "\u2200"]').encode("utf-16-le"))  # RecursionError
@example(b'"\xed\xa0\x80"')  # a UTF-8-encoded lone surrogate went through unrefused
@example('["\\ud800"]'.encode("utf-16"))  # the escape, in UTF-16: the byte-wise search missed it
@example(b"\xef\xbb\xbf")
def test_parse_json_never_crashes(raw: bytes) -> None:
    try:
        payload = parse_json(raw)
    except BodyError as exc:
        assert exc.errors and exc.errors[0]["loc"][0] == "body" and exc.status_code == 422
        return
    assert _depth(payload) <= MAX_JSON_DEPTH
    for s in _strings(payload):  # what parse_json lets through can be stored and hashed as text
        assert "\x00" not in s
        s.encode("utf-8")


