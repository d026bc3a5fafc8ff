"""DataFrames to plain records: the one conversion the CLI, the REST API and the web pages share."""

from __future__ import annotations

import csv
import math
import re
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """numpy/pandas scalars to JSON-ready Python values; NaN and NaT become None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(df.columns)
    return [{c: plain(v) for c, v in zip(cols, row, strict=True)} for row in df.itertuples(index=False, name=None)]


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), +cmd|' /C calc'!A0).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with ' (shown as text); numbers, and
    text that is just a number ("-0.5"), are left as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_csv(df: pd.DataFrame, target: Any) -> None:
    """`df` as CSV (no index) to a path or a text stream, formula-safe: every CSV this package writes goes
    through here, since its cells hold customers' own text (comments, names, ids) and people open the files in
    Excel or LibreOffice."""
    safe = df.rename(columns=lambda c: csv_cell(str(c)))
    bare_cr = False
    for col in safe.columns[[not pd.api.types.is_numeric_dtype(t) for t in safe.dtypes]]:
        safe[col] = safe[col].map(csv_cell)
        bare_cr = bare_cr or bool(safe[col].map(lambda v: isinstance(v, str) and "\r" in v).any())
    # pandas (like the csv module with "\n" line ends) leaves a cell holding a CR unquoted, and a spreadsheet
    # reads the CR as a new row, one that could start with a formula: then every text cell is quoted.
    safe.to_csv(target, index=False, quoting=csv.QUOTE_NONNUMERIC if bare_cr else csv.QUOTE_MINIMAL)


# -- renderers: one per format, shared by the CLI (cli/output.py, which adds the Rich table) and the API ------


def json_document(df: pd.DataFrame, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{**meta, "rows": [...]}`: the JSON shape of every answer (rows keep the frame's column order)."""
    return {**(meta or {}), "rows": records(df)}


def csv_text(df: pd.DataFrame) -> str:
    """The formula-safe CSV of `write_csv`, as text."""
    import io

    buf = io.StringIO()
    write_csv(df, buf)
    return buf.getvalue()


def html_table(df: pd.DataFrame, caption: str | None = None) -> str:
    """A plain, escaped HTML table (cells hold customers' own text): numbers right-aligned, NaN as an en dash."""
    from html import escape

    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    rows = []
    for row in records(df):
        cells = [f'<td class="num">{escape(_shown(v))}</td>' if num else f"<td>{escape(_shown(v))}</td>"
                 for v, num in zip(row.values(), numeric, strict=True)]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _shown(value: Any) -> str:
    return "–" if value is None else str(value)
