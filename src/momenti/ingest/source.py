"""What every reader returns: one Arrow table of strings plus the source line of each row."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

LINE = "_line"


@dataclass
class SourceTable:
    table: pa.Table  # all columns utf8, plus LINE (int64)
    unit: str  # "line" for text files, "row" for Parquet
    problems: list[tuple[int, str, str]]  # (line, field, reason) found while reading (bad JSON lines)
    renamed: dict[str, str] = field(default_factory=dict)  # name after --map -> name in the file
    raw: dict[int, str] = field(default_factory=dict)  # line -> its text as read, for rows rejected while reading
    constant: set[str] = field(default_factory=set)  # columns given by --set, not read from the file
    delimiter: str | None = None  # CSV: how a raw line splits into values
