"""Property-based tests (hypothesis) of the file readers (CSV, JSON Lines, Parquet, XES): any bytes give rows or
a typed error, and what a writer wrote is read back with its values, count and order (repeats and ties
included). See test_parser_properties.py."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from momenti.core.errors import MomentiError
from momenti.ingest.read import LINE, json_text, read_source, table_source
from parser_common import FILES, NAMES, SAFE_TEXT, example_file, line_breaks, record_lines

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
    path = example_file(scratch, suffix, data)
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
    src = read_source(example_file(scratch, suffix, data))
    assert src.problems == []
    assert src.table.column_names == [*names, LINE]
    got = src.table.to_pylist()
    assert [[r[n] for n in names] for r in got] == [[_text_value(c) for c in row] for row in rows]
    assert [r[LINE] for r in got] == record_lines(rows)


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
        line += 1 + sum(line_breaks(c) for c in cells)
    src = read_source(example_file(scratch, ".csv", out.getvalue().encode("utf-8")))
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
    src = read_source(example_file(scratch, ".csv", ("\n".join(lines) + "\n").encode("utf-8")))
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
    src = read_source(example_file(scratch, ".csv", data))
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
    src = read_source(example_file(scratch, ".jsonl", (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")))
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
    path = scratch / f"f{next(NAMES)}.parquet"
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
    src = read_source(example_file(scratch, ".xes.gz" if gzipped else ".xes", gzip.compress(data) if gzipped else data))
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


