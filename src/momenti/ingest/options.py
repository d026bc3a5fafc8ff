"""What `momenti import` can do to a file's values before validation: constant columns (--set), "not
applicable" codes read as empty (--missing), value maps (--map-values) and day/month order of dates
(--date-format, --dayfirst, or what the column itself shows).

All of it is columnar (Arrow compute), so it costs nothing per row in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from momenti.core.errors import InputError
from momenti.core.scratch import scratch
from momenti.core.sql import sql_literal as lit
from momenti.ingest.read import LINE, SourceTable
from momenti.ingest.specs import KindSpec

# A day and a month in some order, then a four-digit year: 24/02/2015, 24.02.2015, 24-02-2015 11:35[:52].
SLASHED = r"^(\d{1,2})([/.-])(\d{1,2})[/.-]\d{4}( \d{1,2}:\d{2}(:\d{2})?)?$"
TIMES = (" %H:%M:%S", " %H:%M", "")


@dataclass
class ImportOptions:
    constants: dict[str, str] = field(default_factory=dict)  # --set column=value
    missing: list[str] = field(default_factory=list)  # --missing CODE: empty in every column
    missing_in: dict[str, list[str]] = field(default_factory=dict)  # --missing column=CODE
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # --map-values column=a:x,b:y
    date_format: str | None = None  # --date-format, strptime codes (%d/%m/%Y %H:%M)
    dayfirst: bool = False  # --dayfirst: 03/04/2015 is the 3rd of April

    @classmethod
    def parse(cls, sets: list[str] = (), missing: list[str] = (), maps: list[str] = (),  # type: ignore[assignment]
              date_format: str | None = None, dayfirst: bool = False) -> ImportOptions:
        """From the command line's strings; a malformed one is a one-line error naming the option."""
        out = cls(date_format=date_format or None, dayfirst=dayfirst)
        for item in sets:
            name, value = _pair(item, "--set", "column=value")
            out.constants[name] = value
        for item in missing:
            if "=" in item:
                name, code = _pair(item, "--missing", "CODE or column=CODE")
                out.missing_in.setdefault(name, []).append(code)
            else:
                out.missing.append(item.strip())
        for item in maps:
            name, pairs = _pair(item, "--map-values", "column=from:to,from:to")
            mapping = {}
            for p in pairs.split(","):
                if ":" not in p:
                    raise InputError(f"--map-values {item!r}: write column=from:to,from:to")
                a, b = p.split(":", 1)
                mapping[a.strip()] = b.strip()
            out.value_maps.setdefault(name, {}).update(mapping)
        if out.date_format and "%" not in out.date_format:
            raise InputError(f"--date-format {out.date_format!r}: use strptime codes, e.g. %d/%m/%Y %H:%M")
        return out


def _pair(item: str, option: str, form: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip():
        raise InputError(f"{option} {item!r}: write {form}")
    return name.strip(), value.strip()


def apply_options(src: SourceTable, spec: KindSpec, opts: ImportOptions | None, source: str) -> SourceTable:
    opts = opts or ImportOptions()
    table = src.table
    data = [c for c in table.column_names if not c.startswith("_")]

    def column(name: str, option: str) -> str:
        if name in table.column_names:
            return name
        renamed = {s: t for t, s in src.renamed.items()}  # the file's name, given before --map renamed it
        if name in renamed:
            return renamed[name]
        raise InputError(f"{source}: {option} names a column not in the file: {name} "
                         f"(columns: {', '.join(data)})")

    def replace(name: str, values: pa.Array) -> None:
        nonlocal table
        table = table.set_column(table.column_names.index(name), name, values)

    for name, codes in [*((c, opts.missing) for c in data if opts.missing), *opts.missing_in.items()]:
        name = column(name, "--missing")
        col = table[name]
        replace(name, pc.if_else(pc.is_in(pc.utf8_trim_whitespace(col), pa.array(codes, pa.string())),
                                 pa.scalar(None, pa.string()), col))
    for name, mapping in opts.value_maps.items():
        name = column(name, "--map-values")
        col = table[name]
        trimmed = pc.utf8_trim_whitespace(col)
        keys = pa.array(list(mapping), pa.string())
        at = pc.index_in(trimmed, value_set=keys)
        mapped = pc.take(pa.array(list(mapping.values()), pa.string()), at)
        replace(name, pc.if_else(pc.is_valid(at), mapped, col))
    for name, value in opts.constants.items():
        if name in table.column_names or name in src.renamed.values():
            raise InputError(f"{source}: --set {name}: the file has a {name} column already (use --map-values "
                             "to change its values)")
        table = table.add_column(len(table.column_names) - 1 if LINE in table.column_names else
                                 len(table.column_names), name, pa.array([value] * table.num_rows, pa.string()))
    for f in spec.fields:
        if f.type == "timestamp" and f.name in table.column_names:
            replace(f.name, _dates(table[f.name], opts))
    src.table = table
    src.constant = set(opts.constants)
    return src


def _dates(col: pa.ChunkedArray, opts: ImportOptions) -> pa.ChunkedArray:
    """Dates in the form given (--date-format) or with day and month in a known order, as ISO 8601 text.
    A value that does not parse stays as it was, for validation to reject by line."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    trimmed = pc.utf8_trim_whitespace(col)
    if opts.date_format:
        formats = [opts.date_format]
    else:
        slashed = pc.match_substring_regex(trimmed, SLASHED)
        if not pc.any(slashed).as_py():
            return col
        dayfirst = opts.dayfirst or _column_is_dayfirst(pc.filter(trimmed, slashed))
        if dayfirst is None:  # every value reads either way: validation asks for --dayfirst or --date-format
            return col
        sep = _separator(trimmed, slashed)
        order = f"%d{sep}%m{sep}%Y" if dayfirst else f"%m{sep}%d{sep}%Y"
        formats = [order + t for t in TIMES]
    # DuckDB's strptime, not Arrow's: Arrow's turns 31/02/2025 into 3 March instead of failing.
    con = scratch()
    try:
        con.register("_dates", pa.table({"v": trimmed}))
        fmts = "[" + ", ".join(lit(f) for f in formats) + "]"
        iso = con.execute(f"SELECT strftime(try_strptime(v, {fmts}), '%Y-%m-%dT%H:%M:%S') FROM _dates"
                          ).to_arrow_table().column(0).combine_chunks()
    except duckdb.Error as exc:
        raise InputError(f"--date-format {opts.date_format!r}: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    return pc.if_else(pc.is_valid(iso), iso, col)


def _column_is_dayfirst(values: pa.Array) -> bool | None:
    """True when some value can only be day-first (24/02/2015), False when some can only be month-first
    (02/24/2015), None when every value reads either way or the column says both."""
    parts = pc.extract_regex(values, r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})")
    a = pc.cast(pc.struct_field(parts, "a"), pa.int32())
    b = pc.cast(pc.struct_field(parts, "b"), pa.int32())
    day_a = bool(pc.any(pc.greater(a, 12)).as_py())
    day_b = bool(pc.any(pc.greater(b, 12)).as_py())
    return day_a if day_a != day_b else None


def _separator(values: pa.Array, mask: pa.Array) -> str:
    first = pc.filter(values, mask)[0].as_py()
    return re.match(SLASHED, first).group(2)  # type: ignore[union-attr]
