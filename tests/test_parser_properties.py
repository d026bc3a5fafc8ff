"""Property-based tests (hypothesis) of every parser momenti has: the argument grammar, times, periods and
weeks, the REST JSON body, the survey and alert-rule YAML, the file readers (CSV, JSON Lines, Parquet, XES) and
the one-pass validation behind an import.

Two kinds of property: *never a crash* (any text or bytes give a result or the project's typed error, never
an IndexError, a UnicodeDecodeError, a RecursionError... and never a dead process), and *round trips* (what a
writer wrote, the reader gives back: values, count and order, repeats and ties included). Each bug these tests
found is kept as an explicit `@example`, next to the fix's comment in the source.

Bounded: a few hundred examples per pure parser, fewer per file reader, 12 per workspace import; the whole
file runs in about a minute.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import gzip
import io
import itertools
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import TypeAdapter, ValidationError

import momenti
from conftest import BANK
from momenti.core.args import Day, as_date, as_list, duration_seconds, parse_duration, parse_filters
from momenti.core.clock import as_datetime, naive_utc
from momenti.core.documents import read_yaml
from momenti.core.errors import InputError, MomentiError
from momenti.domains.loop.rules import load_rules, template_text
from momenti.domains.story.review import week_label, week_start
from momenti.domains.surveys.definition import TEMPLATES, load_survey, template
from momenti.ingest.read import LINE, json_text, read_source, table_source
from momenti.insights.scores.compare import parse_period
from momenti.server.records import MAX_JSON_DEPTH, BodyError, json_depth, parse_json

PURE = settings(max_examples=300, deadline=None)
DOCS = settings(max_examples=100, deadline=None)  # PyYAML is pure Python: slower per example
FILES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STORE = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_names = itertools.count()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the files the examples write (hypothesis does not mix with function-scoped tmp_path)."""
    return Path(tmp_path_factory.mktemp("parser-properties"))


def _file(folder: Path, suffix: str, data: bytes) -> Path:
    path = folder / f"f{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


# Text without surrogates (no UTF-8 form) and without NUL (refused as binary by design in text files).
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


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


# == survey definitions and alert rules (YAML through core/documents.py) ======================================

YAML_PIECES = st.lists(st.sampled_from([
    "key: ", "title: ", "pages: ", "questions: ", "type: ", "rules: ", "on: ", "response: ", "metric: ",
    "at_most: ", "open_case: ", "notify: ", "calendar: ", "hours: ", "sla_policies: ", "recovery: ", "it: ", "en: ",
    "show_if: ", "in: ", "options: ", "touchpoints: ", "thanks: ", "name: ", "closes_at: ", "holidays: ",
    "\n", "\n  ", "\n- ", "- ", "[", "]", "{", "}", ",", ": ", "x", "5", "-1.5", "true", "null", "~", "yes", "on",
    "2025-13-01", "2025-01-01", "2025-01-01T10:00:00", "!!int x", "!!float y", "!!binary ***", "!!timestamp 2025-99",
    "!!set {a, b}", "!!python/name:os.system", "&a ", "*a", "<<: *a", "? ", "|\n  ", "'", '"', "\t", "%YAML 1.1\n",
    "---\n", "...\n", "#", ".yaml", "\x00", "\ufeff", "[" * 60,
]), max_size=30).map("".join)

YAML_DOCS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6), st.dates(), st.datetimes()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(["key", "title", "thanks", "touchpoints", "pages", "questions",
                                                   "type", "text", "it", "en", "options", "show_if", "in", "not_in",
                                                   "question", "min", "max", "hidden", "closes_at", "rules", "on",
                                                   "response", "metric", "at_most", "open_case", "notify", "sla",
                                                   "calendar", "hours", "workdays", "timezone", "holidays",
                                                   "sla_policies", "name", "recovery", "root_causes", "email",
                                                   "quiet_hours", "repeat_contacts", "count", "within_days"]),
                                  st.integers(), st.booleans(), st.none(), st.text(max_size=4)),
                        inner, max_size=5)),
    max_leaves=25,
)


def _load_both(source: Any) -> None:
    for load in (load_survey, load_rules):
        try:
            load(source)
        except InputError:
            pass


@DOCS
@given(st.one_of(st.text(max_size=60), YAML_PIECES))
@example("rules: 5")  # was TypeError: the alert rules unpacked a number
@example("a" * 300 + ".yaml")  # was OSError: file name too long
@example("[" * 5000 + "]" * 5000 + "\n")  # was RecursionError in PyYAML
@example("{closes_at: 2025-13-01}\n")  # was ValueError: a date YAML resolved but could not build
@example("recovery: 5\nrules: true\n")
@example("key: !!timestamp x\n")  # was AttributeError, from PyYAML's constructor
@example("required: !!bool x\n")  # was KeyError
@example("min: !!int\n")  # was IndexError
def test_yaml_documents_never_crash(text: str) -> None:
    _load_both(text)


@DOCS
@given(YAML_DOCS, st.sampled_from(["survey", "rules"]))
def test_yaml_structures_never_crash(doc: Any, where: str) -> None:
    # As YAML text (dates and odd keys as YAML writes them) and as the mapping a Python caller passes.
    text = yaml.safe_dump({where: doc} if where == "rules" and not isinstance(doc, dict) else doc, allow_unicode=True)
    _load_both(text + "\n")
    if isinstance(doc, dict):
        _load_both(dict(doc))


def test_yaml_file_errors(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes("key: caff\xe8\n".encode("latin-1"))
    (tmp_path / "folder.yaml").mkdir()
    for path in (tmp_path / "latin.yaml", tmp_path / "folder.yaml", tmp_path / "missing.yaml", str(tmp_path / "x.yml")):
        with pytest.raises(InputError):
            read_yaml(path, None, "<doc>")


KEY = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k not in {"nps", "csat", "ces", "survey", "survey_version", "channel", "language", "partial", "website",
                        "sid", "action", "p", "t", "lang", "touchpoint", "response_id", "customer_id", "submitted_at"})
WORDS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
I18N = st.builds(lambda it, en: {"it": it, "en": en}, WORDS, WORDS)


@st.composite
def surveys(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(KEY, min_size=1, max_size=6, unique=True))
    questions = []
    for k in keys:
        kind = draw(st.sampled_from(["rating", "single", "multiple", "text", "agree"]))
        q: dict[str, Any] = {"key": k, "type": kind, "text": draw(I18N), "required": draw(st.booleans())}
        if kind in ("single", "multiple"):
            opts = draw(st.lists(st.from_regex(r"[a-z0-9]{1,4}", fullmatch=True), min_size=2, max_size=4, unique=True))
            q["options"] = [{"key": o, "text": draw(I18N)} for o in opts]
        if kind == "rating":
            q["min"], q["max"] = draw(st.sampled_from([(1, 5), (0, 10), (1, 7)]))
        questions.append(q)
    split = draw(st.integers(1, len(questions)))
    pages = [{"questions": questions[:split]}] + ([{"questions": questions[split:]}] if questions[split:] else [])
    if len(pages) == 2:  # a condition on an answer of the first page
        pages[1]["show_if"] = {"question": keys[0], "not_in": ["x"]}
    return {"key": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True)), "title": draw(I18N),
            "thanks": draw(I18N), "touchpoints": draw(st.lists(st.sampled_from(["app-login", "branch-visit"]),
                                                                 min_size=1, max_size=2, unique=True)),
            "pages": pages}


@DOCS
@given(surveys())
def test_survey_yaml_round_trip(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    survey = load_survey(text)
    assert [q.key for q in survey.questions()] == [q["key"] for p in doc["pages"] for q in p["questions"]]
    assert [[q.text.it for q in p.questions] for p in survey.pages] == \
        [[q["text"]["it"] for q in p["questions"]] for p in doc["pages"]]
    again = load_survey(yaml.safe_dump(survey.canonical(), allow_unicode=True))
    assert again.digest() == survey.digest() == load_survey(doc).digest()


@pytest.mark.parametrize("name", TEMPLATES)
def test_survey_templates_round_trip(name: str) -> None:
    survey = template(name)
    assert load_survey(yaml.safe_dump(survey.canonical(), allow_unicode=True)).digest() == survey.digest()


@DOCS
@given(st.lists(st.tuples(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True),
                          st.floats(0, 10, allow_nan=False), st.sampled_from(["low", "normal", "high", "urgent"]),
                          st.sampled_from(["nps", "csat", "ces"])),
                min_size=1, max_size=5, unique_by=lambda r: r[0]))
def test_rules_yaml_round_trip(rules: list[tuple[str, float, str, str]]) -> None:
    # Written by hand, with the bare `on:` key that YAML 1.1 reads as the boolean true.
    text = "rules:\n" + "".join(
        f"  - key: {key!r}\n    on: response\n    response: {{metric: {metric}, at_most: {at_most!r}}}\n"
        f"    open_case: {{priority: {priority}}}\n" for key, at_most, priority, metric in rules)
    doc = load_rules(text)
    assert [(r.key, r.on, r.response.at_most, r.open_case.priority, r.response.metric) for r in doc.rules] == \
        [(key, "response", at_most, priority, metric) for key, at_most, priority, metric in rules]
    assert load_rules(json.loads(json.dumps(doc.model_dump(mode="json")))).digest() == doc.digest()


def test_rules_template_loads() -> None:
    doc = load_rules(template_text())
    assert doc.rules and load_rules(doc.model_dump(mode="json")).digest() == doc.digest()


# == the file readers (ingest/read.py, csv_input.py, xes.py) ==================================================

FILE_PIECES = st.lists(st.sampled_from([
    b",", b";", b"\t", b"|", b'"', b'""', b"\n", b"\r\n", b"\r", b"a", b"bb", b"1", b" ", b"\xef\xbb\xbf", b"\x00",
    b"\xff\xfe", b"\xfe\xff", b"\x1f\x8b", b"PK\x03\x04", b"PAR1", b"\xe8", b"\xc3\xa8", b"\x81", b"\x9d", b"{", b"}",
    b"[", b"]", b":", b'"k"', b"null", b"1" * 40, b"<log>", b"</log>", b"<trace>", b"</trace>", b"<event>",
    b"</event>", b'<string key="concept:name" value="a"/>', b'<date key="time:timestamp" value="2020-01-01"/>',
    b'<?xml version="1.0" encoding="bogus"?>', b"<!-- c -->", b"&amp;", b"&#0;",
]), max_size=50).map(b"".join)


@FILES
@given(st.one_of(st.binary(max_size=300), FILE_PIECES), st.sampled_from([".csv", ".tsv", ".txt", ".jsonl", ".ndjson",
                                                                        ".parquet", ".xes", ".csv.gz", ".xes.gz"]))
@example(b"null", ".jsonl")  # pyarrow's JSON reader crashed the whole process (a segfault) on it
@example(b"null\n{\"a\": 1}\n", ".jsonl")
@example(b'{"a": ' + b"1" * 5000 + b'}\n{"a": "x"}\n', ".jsonl")  # was ValueError: more than 4,300 digits
@example(b"a,b\n\x81x,\x9dy\n", ".csv")  # was UnicodeDecodeError: bytes cp1252 has no character for
@example(b"\xff\xfea\x00,\x00b\x00\n\x00\x00\xd8", ".csv")  # a UTF-16 text cut, or a lone surrogate
@example(b"\r,\xef\xbb\xbf\r\n1>/1", ".csv")  # was csv.Error: new-line character seen in unquoted field
@example(b"a,b\n4,5\n1,2,\xe8", ".csv")
def test_readers_never_crash(scratch: Path, data: bytes, suffix: str) -> None:
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    path = _file(scratch, suffix, data)
    try:
        src = read_source(path)
    except MomentiError:
        return
    table = src.table
    assert table.column_names[-1] == LINE and table.schema.field(LINE).type == pa.int64()
    assert all(pa.types.is_string(f.type) for f in table.schema if f.name != LINE)
    lines = table[LINE].to_pylist()
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    assert not {n for n, _, _ in src.problems} & set(lines), "a line is a row or a problem, not both"


# -- CSV -------------------------------------------------------------------------------------------------------

CELLS = st.one_of(st.none(), SAFE_TEXT, st.sampled_from(['"', '""', ",", ";", "|", "\t", "\n", "\r\n", "a\nb", " ",
                                                         " x ", "\ufeff", "\ufeffx", "NA", "null", "2025-01-01",
                                                         "é", "\u2028"]))
COLUMN_NAMES = st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True), min_size=1, max_size=5, unique=True)


@st.composite
def string_tables(draw: st.DrawFn, cells: st.SearchStrategy = CELLS) -> tuple[list[str], list[list[str | None]]]:
    """Column names and rows, with some rows repeated (identical rows are data, not an accident)."""
    names = draw(COLUMN_NAMES)
    if len(names) == 1:  # one column: an empty value is a blank line, which every CSV reader skips
        cells = cells.filter(lambda c: c)
    rows = draw(st.lists(st.lists(cells, min_size=len(names), max_size=len(names)), max_size=10))
    if rows:
        rows += draw(st.lists(st.sampled_from(rows), max_size=3))
        rows = draw(st.permutations(rows))
    return names, rows


def _text_value(cell: str | None) -> str | None:
    return cell or None  # an empty value is read as null, quoted or not


def _breaks(value: str) -> int:
    """Line breaks in a value: "\\n", "\\r\\n" and a "\\r" alone (as Arrow and Python's csv module read them)."""
    return value.count("\n") + value.count("\r") - value.count("\r\n")


def _record_lines(rows: list[list[str | None]], first: int = 2) -> list[int]:
    """The line where each record starts, each one on its own line plus the line breaks inside its values."""
    out, line = [], first
    for row in rows:
        out.append(line)
        line += 1 + sum(_breaks(c or "") for c in row)
    return out


@FILES
@given(string_tables(), st.sampled_from([",", ";", "\t", "|"]),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "gzip"]))
def test_csv_round_trip(scratch: Path, table: tuple[list[str], list[list[str | None]]], delimiter: str,
                        encoding: str) -> None:
    names, rows = table
    if len(names) == 1:
        delimiter = ","  # one column has no delimiter to recognise
    arrow = pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})
    out = io.BytesIO()
    pacsv.write_csv(arrow, out, pacsv.WriteOptions(delimiter=delimiter))
    text = out.getvalue().decode("utf-8")
    data = gzip.compress(text.encode("utf-8")) if encoding == "gzip" else text.encode(encoding)
    suffix = ".tsv" if delimiter == "\t" and encoding != "gzip" else ".csv"
    src = read_source(_file(scratch, suffix, data))
    assert src.problems == []
    assert src.table.column_names == [*names, LINE]
    got = src.table.to_pylist()
    assert [[r[n] for n in names] for r in got] == [[_text_value(c) for c in row] for row in rows]
    assert [r[LINE] for r in got] == _record_lines(rows)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[str], list[tuple[list[str], bool]], str]:
    """Column names, records (cells, one blank line before it?) of the right width or not, and a line end."""
    names = draw(COLUMN_NAMES)
    n = len(names)
    records = []
    for _ in range(draw(st.integers(0, 10))):
        width = draw(st.one_of(st.just(n), st.integers(1, n + 2)))
        cells = draw(st.lists(CELLS.map(lambda c: c or ""), min_size=width, max_size=width))
        records.append((cells, draw(st.booleans())))
    return names, records, draw(st.sampled_from(["\n", "\r\n"]))


@FILES
@given(csv_files())
@example((["a", "b"], [(['x\ny', '1'], False), (['1', '2', '3'], False), (['4', '5'], False)], "\n"))
def test_csv_bad_records_by_line(scratch: Path, file: tuple[list[str], list[tuple[list[str], bool]], str]) -> None:
    """A record with too few or too many values is reported by its line and kept out; every other is read."""
    names, records, end = file
    n = len(names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=end)
    writer.writerow(names)
    line, want_rows, want_problems = 2, [], []
    for cells, blank_before in records:
        if blank_before:
            out.write(end)
            line += 1
        # Python's writer quotes a value holding a character of its line end: with "\n", not one holding "\r".
        quoting = csv.QUOTE_ALL if end == "\n" and any("\r" in c for c in cells) else csv.QUOTE_MINIMAL
        csv.writer(out, lineterminator=end, quoting=quoting).writerow(cells)
        if len(cells) == n:
            want_rows.append(([_text_value(c) for c in cells], line))
        else:
            want_problems.append((line, "csv", f"expected {n} values (one per column), found {len(cells)}"))
        line += 1 + sum(_breaks(c) for c in cells)
    src = read_source(_file(scratch, ".csv", out.getvalue().encode("utf-8")))
    assert src.problems == want_problems
    assert set(src.raw) == {p[0] for p in want_problems}
    got = src.table.to_pylist()
    assert [([r[c] for c in names], r[LINE]) for r in got] == want_rows


PLAIN = st.from_regex(r"[a-z0-9 ]{0,6}", fullmatch=True)


@FILES
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(
    st.lists(st.lists(PLAIN, min_size=n, max_size=n), min_size=1, max_size=8), st.integers(0, 8),
    st.lists(PLAIN, min_size=0, max_size=n - 1), PLAIN)))
@example(([["a", "b"]], 1, ["x"], "oops"))  # on the last line: was read as a row, its value "oops\n"
@example(([["a", "b"]], 1, [], "oops"))  # reported as a count of values, not as the quote
def test_csv_unterminated_quote(scratch: Path, case: tuple[list[list[str]], int, list[str], str]) -> None:
    """A quote opened and never closed: its record is rejected by line, the lines it swallowed read as rows."""
    rows, at, before, opened = case
    n = len(rows[0])
    at = min(at, len(rows))
    names = [f"c{i}" for i in range(n)]
    lines = [",".join(names)] + [",".join(r) for r in rows]
    bad = ",".join([*before, f'"{opened}'])
    lines.insert(1 + at, bad)
    src = read_source(_file(scratch, ".csv", ("\n".join(lines) + "\n").encode("utf-8")))
    bad_line = 2 + at
    assert [p[0] for p in src.problems] == [bad_line] and "quote" in src.problems[0][2]
    want = [([_text_value(c) for c in r], i + 2 + (i >= at)) for i, r in enumerate(rows)]
    got = src.table.to_pylist()
    assert [([r[c] for c in names], r[LINE]) for r in got] == want


@FILES
@given(string_tables(SAFE_TEXT.filter(lambda t: not set(t) & set('\r\n",'))))
@example((["a", "b"], [["1", "caffè"]]))  # was refused: the accent in its last bytes was taken for cut UTF-8
def test_csv_cp1252(scratch: Path, table: tuple[list[str], list[list[str | None]]]) -> None:
    """A Windows-1252 file (not UTF-8) is read as such, however short, wherever its accents are."""
    names, rows = table
    text = ",".join(names) + "\n" + "".join(",".join(c or "" for c in r) + "\n" for r in rows)
    try:
        data = text.encode("cp1252")
        data.decode("utf-8")
    except UnicodeEncodeError:
        return  # not a cp1252 text
    except UnicodeDecodeError:
        pass  # not UTF-8 either: the case
    else:
        return  # a cp1252 text that is valid UTF-8 too reads as UTF-8 (what it most likely is)
    src = read_source(_file(scratch, ".csv", data))
    assert [[r[n] for n in names] for r in src.table.to_pylist()] == \
        [[_text_value(c) for c in row] for row in rows if any(row) or len(names) > 1]


# -- JSON Lines ------------------------------------------------------------------------------------------------

JSONL_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False),
    SAFE_TEXT, st.sampled_from(["2025-01-02", "2025-01-01 10:00:00", "2025-01-01T10:00:00+02:00", "1", "true", ""]),
)
JSONL_VALUES = st.one_of(JSONL_SCALARS, st.lists(st.integers(-100, 100), max_size=3),
                         st.lists(SAFE_TEXT, max_size=3))
JSONL_KEYS = st.sampled_from(["customer_id", "activity", "timestamp", "nps", "comment", "Comment", "città", "a b"])
BAD_LINES = st.sampled_from(["null", "[1]", "5", '"x"', "{bad", '{"a": 1} x', "[", "{", '{"a": }', "nul"])


@FILES
@given(st.lists(st.one_of(st.dictionaries(JSONL_KEYS, JSONL_VALUES, min_size=1, max_size=4).map(lambda d: ("ok", d)),
                          BAD_LINES.map(lambda b: ("bad", b)), st.sampled_from(["", "  "]).map(lambda b: ("blank", b))),
                max_size=10),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
@example([("bad", "null")], "\n", False)  # pyarrow crashed the whole process (a segfault) on a first line `null`
@example([("ok", {"a": 1}), ("bad", "null")], "\n", False)  # a later `null` was a row of nulls
@example([("ok", {"a": "2025-01-02"}), ("ok", {"a": "2025-01-01T10:00:00+02:00"})], "\n", False)  # rewritten times
def test_jsonl_round_trip(scratch: Path, lines: list[tuple[str, Any]], end: str, bom: bool) -> None:
    """Every object line is a row with the text of its values (in line order, repeats kept); every other line
    that is not blank is reported by its number; blank lines are skipped."""
    first = next((i for i, (kind, _) in enumerate(lines) if kind != "blank"), None)
    if first is not None and lines[first][0] == "bad" and lines[first][1].startswith("["):
        lines[first] = ("bad", "5")  # a first line opening an array is an array document (refused as a whole)
    text = end.join(json.dumps(v, ensure_ascii=False) if kind == "ok" else v for kind, v in lines) + end
    src = read_source(_file(scratch, ".jsonl", (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")))
    want_rows = [(v, i) for i, (kind, v) in enumerate(lines, start=1) if kind == "ok"]
    assert [(n, f) for n, f, _ in src.problems] == [(i, "json") for i, (kind, _) in enumerate(lines, start=1)
                                                     if kind == "bad"]
    got = src.table.to_pylist()
    assert [r[LINE] for r in got] == [i for _, i in want_rows]
    for row, (record, _) in zip(got, want_rows, strict=True):
        assert set(record) <= set(row)
        for key in set(row) - {LINE}:
            want, value = record.get(key), row[key]
            if isinstance(want, float) and not isinstance(want, bool):
                assert float(value) == want  # the number, whichever way it is written ("1", "1.0")
            elif isinstance(want, list):
                assert json.loads(value) == want
            else:
                assert value == json_text(want)


# -- Parquet ---------------------------------------------------------------------------------------------------

PARQUET_COLUMNS = {
    "text": (pa.string(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), lambda v: v),
    "large": (pa.large_string(), SAFE_TEXT, lambda v: v),
    "binary": (pa.binary(), SAFE_TEXT.map(str.encode), lambda v: v.decode()),  # text without its UTF8 mark
    "int": (pa.int64(), st.integers(-(2**63), 2**63 - 1), str),
    "small": (pa.int8(), st.integers(-128, 127), str),
    "float": (pa.float64(), st.floats(allow_nan=False), float),
    "bool": (pa.bool_(), st.booleans(), lambda v: "true" if v else "false"),
    "day": (pa.date32(), st.dates(), lambda v: v),
    "stamp": (pa.timestamp("us"), st.datetimes(), lambda v: v),
    "utc": (pa.timestamp("ms", tz="UTC"), st.datetimes(min_value=dt.datetime(1900, 1, 1)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=dt.UTC)), lambda v: v),
    "category": (pa.dictionary(pa.int32(), pa.string()), st.sampled_from(["a", "b", "città"]), lambda v: v),
}


def _parquet_text(kind: str, text: str) -> Any:
    """A value as the reader gives it, turned back into what it was written from."""
    if kind == "float":
        return float(text)
    if kind == "day":
        return dt.date.fromisoformat(text)
    if kind == "stamp":
        return dt.datetime.fromisoformat(text)
    if kind == "utc":
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    return text


@FILES
@given(st.lists(st.sampled_from(sorted(PARQUET_COLUMNS)), min_size=1, max_size=5, unique=True).flatmap(
    lambda kinds: st.tuples(st.just(kinds), st.lists(st.tuples(*[st.one_of(st.none(), PARQUET_COLUMNS[k][1])
                                                                 for k in kinds]), max_size=12))),
       st.integers(1, 5), st.integers(0, 3))
def test_parquet_round_trip(scratch: Path, table: tuple[list[str], list[tuple[Any, ...]]], group: int,
                            repeats: int) -> None:
    """What pyarrow writes, read back as text in the same order and number of rows, over many row groups."""
    kinds, rows = table
    rows = rows + rows[:repeats]  # identical rows are rows
    arrow = pa.table({k: pa.array([r[i] for r in rows], PARQUET_COLUMNS[k][0]) for i, k in enumerate(kinds)})
    path = scratch / f"f{next(_names)}.parquet"
    pq.write_table(arrow, path, row_group_size=group)
    for src in (read_source(path), table_source(arrow)):
        assert src.problems == [] and src.table.column_names == [*kinds, LINE]
        got = src.table.to_pylist()
        assert [r[LINE] for r in got] == list(range(1, len(rows) + 1))
        for row, written in zip(got, rows, strict=True):
            for k, value in zip(kinds, written, strict=True):
                text = row[k]
                if value is None:
                    assert text is None
                else:
                    assert isinstance(text, str)
                    assert _parquet_text(k, text) == PARQUET_COLUMNS[k][2](value), (k, text, value)


# -- XES -------------------------------------------------------------------------------------------------------

XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
                   max_size=8) | st.sampled_from(["a\nb", "\t", "<&>\"'", " x "])
STAMPS = st.sampled_from(["2024-03-01T09:00:00+01:00", "2024-03-01T09:00:00.000+01:00", "2024-03-01T09:00:00Z",
                          "2024-03-31T02:30:00+02:00", "2025-01-01T00:00:00"])  # few: ties are common


@st.composite
def xes_logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Traces: a case id (or none), its customer_id (or none), where its attributes are, and its events."""
    traces = []
    for _ in range(draw(st.integers(0, 4))):
        events = draw(st.lists(st.fixed_dictionaries(
            {"activity": XML_TEXT, "timestamp": STAMPS},
            optional={"resource": XML_TEXT, "customer_id": XML_TEXT, "cost": st.integers(-5, 5)}), max_size=5))
        if events:
            events += draw(st.lists(st.sampled_from(events), max_size=2))  # the same event twice
        traces.append({"case": draw(st.none() | XML_TEXT), "customer": draw(st.none() | XML_TEXT),
                       "attributes_last": draw(st.booleans()), "events": events})
    return traces


def _xes_bytes(traces: list[dict[str, Any]]) -> bytes:
    ns = "http://www.xes-standard.org/"
    log = etree.Element(f"{{{ns}}}log", nsmap={None: ns}, attrib={"xes.version": "1.0"})
    etree.SubElement(log, f"{{{ns}}}extension", name="Concept", prefix="concept", uri="http://x/concept.xesext")
    glob = etree.SubElement(log, f"{{{ns}}}global", scope="event")
    etree.SubElement(glob, f"{{{ns}}}string", key="concept:name", value="__INVALID__")
    for t in traces:
        trace = etree.SubElement(log, f"{{{ns}}}trace")
        attrs = [("string", "concept:name", t["case"]), ("string", "customer_id", t["customer"])]

        def add_attributes(trace: etree._Element = trace, attrs: list = attrs) -> None:
            for tag, key, value in attrs:
                if value is not None:
                    etree.SubElement(trace, f"{{{ns}}}{tag}", key=key, value=value)

        if not t["attributes_last"]:
            add_attributes()
        for e in t["events"]:
            event = etree.SubElement(trace, f"{{{ns}}}event")
            etree.SubElement(event, f"{{{ns}}}string", key="concept:name", value=e["activity"])
            etree.SubElement(event, f"{{{ns}}}date", key="time:timestamp", value=e["timestamp"])
            if "resource" in e:
                etree.SubElement(event, f"{{{ns}}}string", key="org:resource", value=e["resource"])
            if "customer_id" in e:
                etree.SubElement(event, f"{{{ns}}}string", key="customer_id", value=e["customer_id"])
            if "cost" in e:
                etree.SubElement(event, f"{{{ns}}}int", key="cost", value=str(e["cost"]))
        if t["attributes_last"]:  # XES does not ask for the trace's attributes first
            add_attributes()
    return etree.tostring(log, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@FILES
@given(xes_logs(), st.booleans())
def test_xes_round_trip(scratch: Path, traces: list[dict[str, Any]], gzipped: bool) -> None:
    """An XES log read back: one row per event, in file order, with its case, customer, activity, timestamp as
    written (zone included), resource, and the line of its <event> element."""
    data = _xes_bytes(traces)
    src = read_source(_file(scratch, ".xes.gz" if gzipped else ".xes", gzip.compress(data) if gzipped else data))
    want = [{"case_id": t["case"],
             "customer_id": e.get("customer_id", t["case"] if t["customer"] is None else t["customer"]),
             "activity": e["activity"], "timestamp": e["timestamp"], "agent": e.get("resource"),
             "cost": None if "cost" not in e else str(e["cost"])}
            for t in traces for e in t["events"]]
    got = src.table.to_pylist()
    keys = ["case_id", "customer_id", "activity", "timestamp", "agent", "cost"]
    assert [{k: r.get(k) for k in keys} for r in got] == want
    event_lines = [i for i, line in enumerate(data.decode("utf-8").splitlines(), start=1)
                   if line.strip().startswith("<event")]
    assert [r[LINE] for r in got] == event_lines


# == the one-pass validation behind an import (ingest/validate.py), in a workspace ===========================

TOUCHPOINTS = ["app-login", "money-transfer", "branch-visit"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[momenti.Workspace]:
    """One workspace for the module (the bank journey applied; no text analysis, which is not under test).
    Each example writes customers of its own, so examples do not see each other's rows."""
    ws = momenti.open(Path(tmp_path_factory.mktemp("store")) / "data", text_auto=False)
    ws.apply_journey(BANK)
    # The comment column becomes a text question now, not from whatever the first example holds.
    seed = ws.import_records("responses", [{"customer_id": "seed", "touchpoint": "app-login",
                                            "submitted_at": "2025-01-01T00:00:00Z", "nps": 9, "comment": "c:seed"}])
    assert seed.added == 1, seed.errors
    yield ws
    ws.close()


GOOD_STAMPS = st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2025, 12, 31)).map(
    lambda d: d.replace(microsecond=0)).flatmap(lambda d: st.sampled_from(
        [d.isoformat(), d.isoformat() + "Z", d.isoformat(sep=" ") + "+02:00", d.date().isoformat()]))
# value -> the field it breaks (None: valid)
CUSTOMER = st.sampled_from([("", "customer_id"), ("1", None), ("2", None)])
TOUCHPOINT = st.one_of(st.sampled_from(TOUCHPOINTS).map(lambda t: (t, None)),
                       st.sampled_from([("no-such-touchpoint", "touchpoint"), ("", "touchpoint")]))
SUBMITTED = st.one_of(GOOD_STAMPS.map(lambda t: (t, None)),
                      st.sampled_from([("", "submitted_at"), ("not a date", "submitted_at"),
                                       ("2025-13-01", "submitted_at"), ("2025-02-30T10:00:00", "submitted_at")]))
NPS = st.one_of(st.integers(0, 10).map(lambda n: (str(n), None)),
                st.sampled_from([("", None), ("11", "nps"), ("-1", "nps"), ("7.5", "nps"), ("abc", "nps")]))
COMMENT = st.one_of(st.just(""), SAFE_TEXT.map(lambda t: "c:" + t))


@st.composite
def response_batches(draw: st.DrawFn) -> tuple[bool, list[dict[str, Any]]]:
    """(with a response_id column?, rows: {values..., "_bad": fields it breaks})"""
    with_ids = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        fields = {"customer_id": draw(CUSTOMER), "touchpoint": draw(TOUCHPOINT), "submitted_at": draw(SUBMITTED),
                  "nps": draw(NPS)}
        row = {k: v for k, (v, _) in fields.items()}
        row["comment"] = draw(COMMENT)
        row["_bad"] = {bad for _, bad in fields.values() if bad}
        if with_ids:
            row["response_id"] = draw(st.sampled_from(["", "r1", "r2", "r3"]))
        rows.append(row)
    rows += draw(st.lists(st.sampled_from(rows), max_size=3))  # repeats: kept when they have no id
    return with_ids, draw(st.permutations(rows))


def _error_fields(errors: list[str], path: Path) -> set[tuple[int, str]]:
    out = set()
    for line in errors:
        m = re.match(re.escape(str(path)) + r":(\d+): ([^:]+): ", line)
        assert m, line
        out.add((int(m[1]), m[2]))
    return out


@STORE
@given(response_batches(), st.sampled_from([".csv", ".jsonl"]))
def test_import_twice_adds_nothing_and_names_lines(store: momenti.Workspace, scratch: Path,
                                                   batch: tuple[bool, list[dict[str, Any]]], suffix: str) -> None:
    with_ids, rows = batch
    nonce = f"p{next(_names)}-"
    for row in rows:  # this example's own customers and ids
        row["customer_id"] = row["customer_id"] and nonce + row["customer_id"]
        if row.get("response_id"):
            row["response_id"] = nonce + row["response_id"]
    columns = ["customer_id", "touchpoint", "submitted_at", "nps", "comment", *(["response_id"] if with_ids else [])]
    if suffix == ".csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # "\n" alone: a value holding "\r" goes unquoted
        writer.writerow(columns)
        writer.writerows([[r[c] for c in columns] for r in rows])
        data = out.getvalue().encode("utf-8")
        lines = _record_lines([[r[c] for c in columns] for r in rows])
    else:
        data = "".join(json.dumps({c: r[c] or None for c in columns}) + "\n" for r in rows).encode("utf-8")
        lines = list(range(1, len(rows) + 1))
    path = _file(scratch, suffix, data)

    want_errors = {(line, f) for line, r in zip(lines, rows, strict=True) for f in r["_bad"]}
    valid = [r for r in rows if not r["_bad"]]
    ids = [r.get("response_id") for r in valid if r.get("response_id")]
    no_id = [r for r in valid if not r.get("response_id")]
    distinct = {tuple(r[c] for c in columns) for r in no_id}

    first = store.import_file("responses", path)
    assert _error_fields(first.errors, path) == want_errors
    assert first.rejected == len({line for line, _ in want_errors})
    assert first.added == len(no_id) + len(set(ids)), first.errors
    assert first.repeats == len(no_id) - len(distinct)  # identical rows without an id: kept, as repeats
    assert first.duplicates == len(ids) - len(set(ids))  # an id twice in the input: its first row kept
    if first.rejected:
        with Path(first.rejects_file).open(newline="", encoding="utf-8") as fh:
            assert {int(r["_line"]) for r in csv.DictReader(fh)} == {line for line, _ in want_errors}

    again = store.import_file("responses", path)
    assert again.added == 0 and again.updated == 0
    assert again.duplicates == first.added + first.duplicates
    assert (again.rejected, sorted(_error_fields(again.errors, path))) == (first.rejected, sorted(want_errors))


@STORE
@given(st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.sampled_from(["login", "transfer", "call"]),
                          st.sampled_from(["2025-01-01T10:00:00Z", "2025-01-01T10:00:00+00:00",
                                           "2025-01-01T11:00:00"])),
                min_size=1, max_size=8))
def test_event_log_repeats_and_ties(store: momenti.Workspace, scratch: Path,
                                    events: list[tuple[str, str, str]]) -> None:
    """An event log without ids: events at the same instant are all kept (ties), identical ones too (repeats);
    the same file again adds nothing."""
    nonce = f"e{next(_names)}-"
    rows = [(nonce + c, a, t) for c, a, t in events]
    path = _file(scratch, ".csv", ("customer_id,activity,timestamp\n" + "".join(f"{c},{a},{t}\n" for c, a, t in rows))
                 .encode("utf-8"))
    first = store.import_file("events", path)
    assert (first.added, first.rejected) == (len(rows), 0), first.errors
    assert first.repeats == len(rows) - len(set(rows))
    again = store.import_file("events", path)
    assert (again.added, again.duplicates) == (0, len(rows))


ODD_COLUMNS = st.lists(st.sampled_from([
    "__v_touchpoint", "__v_submitted_at", "__v_customer_id", "__a0", "__a1", "__hash", "_errors", "_repeat", "_dup",
    "_line", "_a0_num", "_error", "external_id", "attributes", "Touchpoint", "NPS", "nps__1", "a'b", 'q"x', "città",
    "x" * 101, "Customer_ID",
]), min_size=1, max_size=3, unique_by=str.lower)


@STORE
@given(ODD_COLUMNS, st.lists(SAFE_TEXT, min_size=3, max_size=3))
@example(["__v_touchpoint"], ["v", "", ""])  # its text was written as the touchpoint id: every later sync failed
@example(["__a0"], ["v", "", ""])  # was a DuckDB BinderException
@example(["__v_submitted_at"], ["v", "", ""])  # was a DuckDB ConversionException
def test_import_with_odd_column_names(store: momenti.Workspace, scratch: Path, names: list[str],
                                      values: list[str]) -> None:
    """Whatever a file's columns are called (our internal names, quotes, case twins of the declared fields), the
    row is validated as it is: a typed result or a one-line error, and the store stays readable."""
    from momenti.store.models import Response, Touchpoint

    customer = f"odd{next(_names)}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["customer_id", "touchpoint", "submitted_at", "nps", *names])
    writer.writerow([customer, "branch-visit", "2025-03-01T10:00:00Z", "7",
                     *("v:" + v for v, _ in zip(values, names, strict=False))])
    path = _file(scratch, ".csv", out.getvalue().encode("utf-8"))
    try:
        summary = store.import_file("responses", path)
    except InputError as exc:
        assert "x" * 101 in names and "longer than 100" in str(exc)
        return
    assert (summary.added, summary.rejected) == (1, 0), summary.errors
    with store.session() as s:
        tp = s.query(Touchpoint.key).join(Response, Response.touchpoint_id == Touchpoint.id) \
            .filter(Response.customer_key == customer).one()
    assert tp.key == "branch-visit"


CELL_TEXT = st.one_of(SAFE_TEXT, st.sampled_from([
    "1700000000", "1700000000.5", "2025-01-01 10:00:00 -0800", "2025-01-01T10:00:00 Europe/Rome",
    "2025-01-01T10:00:00 Mars/Olympus", "03/04/2015", "31/12/2015 10:00", "10", "9.0", "1e1", "nan", "inf", "-0",
    " 7 ", "app-login", "APP-LOGIN", "branch-visit", "'", "\\", "%", "_",
]))


@STORE
@given(st.lists(st.lists(CELL_TEXT, min_size=4, max_size=4), min_size=1, max_size=6))
def test_import_random_cells(store: momenti.Workspace, scratch: Path, rows: list[list[str]]) -> None:
    """Any text in any cell: every row is added or rejected by its line, and the store stays readable."""
    nonce = f"q{next(_names)}-"
    rows = [[nonce + r[0] if r[0].strip() else r[0], *r[1:]] for r in rows]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["customer_id", "touchpoint", "submitted_at", "nps"])
    writer.writerows(rows)
    path = _file(scratch, ".csv", out.getvalue().encode("utf-8"))
    summary = store.import_file("responses", path)
    assert summary.read == len(rows) and summary.added + summary.rejected == len(rows)
    assert {line for line, _ in _error_fields(summary.errors, path)} <= set(_record_lines(rows))
    assert len({line for line, _ in _error_fields(summary.errors, path)}) == summary.rejected
    assert store.import_file("responses", path).added == 0


# == import options (ingest/options.py: --set, --missing, --map-values, --date-format) and --map ==============

OPTION_TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["nps=", "=x", "nps=a:1,b:2", "nps=a", "x=y",
                                                               "submitted_at=N/A", "channel=web", "nps=:", "nps"]))
DATE_TEXT = st.one_of(SAFE_TEXT, st.sampled_from(["24/02/2015", "02/24/2015", "03/04/2015 10:00", "31.12.2015",
                                                  "1-2-2015 1:02:03", "2015-02-24", "N/A", "99/99/9999"]))


@PURE
@given(st.lists(OPTION_TEXT, max_size=2), st.lists(OPTION_TEXT, max_size=2), st.lists(OPTION_TEXT, max_size=2),
       st.one_of(st.none(), st.sampled_from(["%d/%m/%Y", "%m/%d/%Y %H:%M", "%Q", "%", "%d/%m/%Y %Z", "day"])),
       st.booleans(), st.lists(DATE_TEXT, min_size=1, max_size=4))
def test_import_options_never_crash(sets: list[str], missing: list[str], maps: list[str], date_format: str | None,
                                    dayfirst: bool, dates: list[str]) -> None:
    from momenti.ingest.options import ImportOptions, apply_options
    from momenti.ingest.specs import RESPONSES

    try:
        opts = ImportOptions.parse(sets, missing, maps, date_format, dayfirst)
    except InputError:
        return
    n = len(dates)
    src = table_source(pa.table({"nps": pa.array(["a", "1", "N/A", " b "][:n], pa.string()),
                                 "submitted_at": pa.array(dates, pa.string())}))
    try:
        out = apply_options(src, RESPONSES, opts, "x.csv")
    except InputError:
        return
    assert out.table.num_rows == n and out.table.column_names[-1] == LINE
    assert all(pa.types.is_string(f.type) for f in out.table.schema if f.name != LINE)


@PURE
@given(st.lists(st.from_regex(r"[a-z]{1,3}", fullmatch=True), min_size=1, max_size=4, unique=True),
       st.dictionaries(st.from_regex(r"[a-z]{1,3}", fullmatch=True), st.from_regex(r" ?[a-z]{0,3}", fullmatch=True),
                       max_size=3))
def test_map_renames_or_says_why(names: list[str], mapping: dict[str, str]) -> None:
    from momenti.ingest.read import rename

    table = pa.table({n: pa.array(["v"], pa.string()) for n in names})
    try:
        out = rename(table, mapping, "x.csv")
    except InputError as exc:
        new = [mapping.get(c, c) for c in names]
        assert (any(not t.strip() for t in mapping.values()) or len(set(new)) < len(new)
                or not set(mapping) <= set(names)), exc
        return
    assert out.column_names == [mapping.get(c, c) for c in names]
