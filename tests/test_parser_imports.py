"""Property-based tests (hypothesis) of an import in a workspace: the one-pass validation (rejects named by row
and field, nothing accepted lost or duplicated) and the import options (--set, --missing, --map-values,
--date-format, --map). Bounded at a dozen examples per property (each is a workspace import). See
test_parser_properties.py."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import momenti
from conftest import BANK
from momenti.core.errors import InputError
from momenti.ingest.read import LINE, table_source
from parser_common import NAMES, PURE, SAFE_TEXT, STORE, example_file, record_lines

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
    nonce = f"p{next(NAMES)}-"
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
        lines = record_lines([[r[c] for c in columns] for r in rows])
    else:
        data = "".join(json.dumps({c: r[c] or None for c in columns}) + "\n" for r in rows).encode("utf-8")
        lines = list(range(1, len(rows) + 1))
    path = example_file(scratch, suffix, data)

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
    nonce = f"e{next(NAMES)}-"
    rows = [(nonce + c, a, t) for c, a, t in events]
    text = "customer_id,activity,timestamp\n" + "".join(f"{c},{a},{t}\n" for c, a, t in rows)
    path = example_file(scratch, ".csv", text.encode("utf-8"))
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

    customer = f"odd{next(NAMES)}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["customer_id", "touchpoint", "submitted_at", "nps", *names])
    writer.writerow([customer, "branch-visit", "2025-03-01T10:00:00Z", "7",
                     *("v:" + v for v, _ in zip(values, names, strict=False))])
    path = example_file(scratch, ".csv", out.getvalue().encode("utf-8"))
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
    nonce = f"q{next(NAMES)}-"
    rows = [[nonce + r[0] if r[0].strip() else r[0], *r[1:]] for r in rows]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["customer_id", "touchpoint", "submitted_at", "nps"])
    writer.writerows(rows)
    path = example_file(scratch, ".csv", out.getvalue().encode("utf-8"))
    summary = store.import_file("responses", path)
    assert summary.read == len(rows) and summary.added + summary.rejected == len(rows)
    assert {line for line, _ in _error_fields(summary.errors, path)} <= set(record_lines(rows))
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
