"""What the property-based parser tests share: hypothesis settings per kind of parser, a folder for the files
examples write, and text without surrogates or NUL."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PURE = settings(max_examples=300, deadline=None)
DOCS = settings(max_examples=100, deadline=None)  # PyYAML is pure Python: slower per example
FILES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STORE = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = itertools.count()  # unique file names and nonces across examples


def example_file(folder: Path, suffix: str, data: bytes) -> Path:
    path = folder / f"f{next(NAMES)}{suffix}"
    path.write_bytes(data)
    return path


# Text without surrogates (no UTF-8 form) and without NUL (refused as binary by design in text files).
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)




def line_breaks(value: str) -> int:
    """Line breaks in a value: "\\n", "\\r\\n" and a "\\r" alone (as Arrow and Python's csv module read them)."""
    return value.count("\n") + value.count("\r") - value.count("\r\n")


def record_lines(rows: list[list[str | None]], first: int = 2) -> list[int]:
    """The line where each record starts, each one on its own line plus the line breaks inside its values."""
    out, line = [], first
    for row in rows:
        out.append(line)
        line += 1 + sum(line_breaks(c or "") for c in row)
    return out
