"""Readers: CSV, JSON Lines and Parquet -> one Arrow table of strings plus the source line of each row.

Every value is read as text so that validation, not the reader, decides what is a number or a date; that
is what lets a bad value be reported by line and field instead of failing the whole file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from momenti.core.errors import InputError
from momenti.ingest.csv_input import read_csv, sniff_text
from momenti.ingest.source import LINE, SourceTable  # noqa: F401 - re-exported: the readers' result
from momenti.ingest.xes import read_xes


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".xes"] or suffixes[-2:] == [".xes", ".gz"]:
        return "xes"
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".jsonl" in suffixes or ".ndjson" in suffixes or ".json" in suffixes:
        return "jsonl"
    if ".csv" in suffixes or ".tsv" in suffixes or ".txt" in suffixes:
        return "csv"
    raise InputError(f"{path}: unknown file type (use .csv, .tsv, .jsonl, .ndjson, .parquet or .xes)")


def read_source(path: Path, mapping: dict[str, str] | None = None) -> SourceTable:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    fmt = detect_format(path)
    if fmt in ("csv", "jsonl") and path.is_file():
        with path.open("rb") as fh:
            if fh.read(4) == b"PAR1":  # a Parquet file under another name: read it as what it is
                fmt = "parquet"
    reader = {"csv": read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet, "xes": read_xes}[fmt]
    src = reader(path)
    if mapping:
        src.table = rename(src.table, mapping, str(path))
        src.renamed = {target: source for source, target in mapping.items()}
    return src


def rename(table: pa.Table, mapping: dict[str, str], source: str) -> pa.Table:
    empty = [s for s, t in mapping.items() if not t.strip()]
    if empty:
        raise InputError(f"{source}: --map gives no new name for: {', '.join(empty)}")
    names = [mapping.get(c, c) for c in table.column_names]
    twice = sorted({t for t in mapping.values() if names.count(t) > 1})
    if twice:
        raise InputError(f"{source}: after --map, more than one column is named: {', '.join(twice)}")
    missing = [s for s in mapping if s not in table.column_names]
    if missing:
        raise InputError(f"{source}: --map names columns not in the file: {', '.join(missing)}")
    return table.rename_columns([mapping.get(c, c) for c in table.column_names])


def as_strings(table: pa.Table) -> pa.Table:
    """Cast every column to utf8 (timestamps in ISO form, so zones survive)."""
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_timestamp(col.type):
            fmt = "%Y-%m-%dT%H:%M:%S%z" if col.type.tz else "%Y-%m-%dT%H:%M:%S"
            col = pc.strftime(col, format=fmt)
        elif pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            # Text written without its UTF8 annotation (older Hive, Impala): its text, where it was the JSON of
            # the bytes' Python repr ('"b\'abc\'"').
            try:
                col = col.cast(pa.string())
            except pa.ArrowInvalid:  # not UTF-8: decoded with replacement characters
                col = pa.array([None if v is None else v.decode("utf-8", "replace") for v in col.to_pylist()],
                               pa.string())
        if pa.types.is_decimal(col.type):  # a number, not nested: its plain text ("9.50"), not JSON ('"9.50"')
            col = col.cast(pa.string())
        if not pa.types.is_string(col.type):
            if pa.types.is_large_string(col.type) or pa.types.is_primitive(col.type):
                col = col.cast(pa.string())
            else:  # nested values (lists, structs) are kept as their JSON text
                col = pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()],
                               pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _read_jsonl(path: Path) -> SourceTable:
    inp, _ = sniff_text(path, "JSON Lines")
    if inp.gzipped or inp.encoding not in ("utf-8", "utf-8-sig", "cp1252"):
        raise InputError(f"{path}: {'gzip-compressed' if inp.gzipped else inp.encoding.upper()} JSON Lines; "
                         "momenti reads them as plain UTF-8 (gunzip or convert the file first)")
    # Arrow's reader only when every line is an object: on a file whose first line is `null` pyarrow (26) crashes
    # the whole process (a segfault), and a later `null` line it reads as a row of nulls, not as a bad line.
    lines = _jsonl_lines(path)
    if lines is not None:
        try:
            options = pajson.ReadOptions(block_size=1 << 24)
            table = pajson.read_json(path, read_options=options)
            stamps = {f.name for f in table.schema if pa.types.is_timestamp(f.type)}
            if stamps:
                # Arrow took text that looks like a time for a timestamp and gave it back rewritten ("2025-01-02"
                # as "2025-01-02T00:00:00", "10:00+02:00" as "08:00"): those columns again, as the text they are.
                schema = pa.schema([pa.field(f.name, pa.string()) if f.name in stamps else f for f in table.schema])
                table = pajson.read_json(path, read_options=options,
                                         parse_options=pajson.ParseOptions(explicit_schema=schema))
            table = as_strings(table)
            if len(lines) == table.num_rows:
                return SourceTable(table.append_column(LINE, pa.array(lines, pa.int64())), "line", [])
        except pa.ArrowInvalid:
            pass
    return _read_jsonl_slow(path)


def _jsonl_lines(path: Path) -> list[int] | None:
    """The number of each non-blank line, or None when one of them does not start with "{" (not an object)."""
    out = []
    with path.open("rb") as fh:
        for i, line in enumerate(fh, start=1):
            text = (line.removeprefix(b"\xef\xbb\xbf") if i == 1 else line).strip()
            if text:
                if text[:1] != b"{":
                    return None
                out.append(i)
    return out


def _read_jsonl_slow(path: Path) -> SourceTable:
    """Line by line, so one bad line is reported and the others kept."""
    records: list[dict] = []
    lines: list[int] = []
    problems: list[tuple[int, str, str]] = []
    raw: dict[int, str] = {}
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if not records and not problems and line.lstrip().startswith("[") and _array_document(line):
                # One JSON document holding an array: every line would be reported as broken. Say what it is.
                raise InputError(f"{path}: a JSON array; momenti reads JSON Lines, one object per line "
                                 f"(convert with: jq -c '.[]' {path.name})")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append((i, "json", f"not valid JSON: {exc.msg} at column {exc.colno}"))
                raw[i] = line.rstrip("\r\n")
                continue
            except ValueError as exc:  # an integer of more than 4,300 digits (Python's limit): it leaked out
                problems.append((i, "json", f"not valid JSON: {exc}"))
                raw[i] = line.rstrip("\r\n")
                continue
            if not isinstance(obj, dict):
                problems.append((i, "json", "each line must be a JSON object"))
                raw[i] = line.rstrip("\r\n")
                continue
            records.append({k: json_text(v) for k, v in obj.items()})
            lines.append(i)
    names = list(dict.fromkeys(k for r in records for k in r))
    cols = {n: pa.array([r.get(n) for r in records], pa.string()) for n in names}
    cols[LINE] = pa.array(lines, pa.int64())
    return SourceTable(pa.table(cols), "line", problems, raw=raw)


def _array_document(first_line: str) -> bool:
    """Whether a first line starting with "[" opens a JSON array of objects (all on it, or over many lines)."""
    try:
        value = json.loads(first_line)
    except json.JSONDecodeError:
        return True  # "[" alone, or "[{...}," : the array goes on over the next lines
    except ValueError:  # an integer too long for Python (it leaked out): a broken line, not an array
        return False
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


def _read_parquet(path: Path) -> SourceTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from exc
    return table_source(table)


def table_source(table: pa.Table) -> SourceTable:
    """A typed Arrow table (Parquet, or one handed over in Python) -> text columns numbered by row."""
    table = as_strings(table)
    return SourceTable(table.append_column(LINE, pa.array(range(1, table.num_rows + 1), pa.int64())), "row", [])


def records_to_table(records: list[dict]) -> SourceTable:
    """API batches: a list of JSON objects -> the same shape as a file (line = position in the batch)."""
    names = list(dict.fromkeys(k for r in records for k in r))
    cols = {n: pa.array([json_text(r.get(n)) for r in records], pa.string()) for n in names}
    cols[LINE] = pa.array(range(1, len(records) + 1), pa.int64())
    return SourceTable(pa.table(cols), "item", [])
