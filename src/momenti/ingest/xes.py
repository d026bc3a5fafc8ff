"""XES (IEEE 1849 event logs) -> the same table of strings as the other readers: one row per <event>.

The file is read as a stream (iterparse), each trace cleared once its rows are taken, so memory stays
flat however large the log. Columns: case_id (the trace's concept:name), customer_id (the trace's
customer_id attribute, else the case id), activity (concept:name), timestamp (time:timestamp, the text of
the file, zone included), agent (org:resource), lifecycle (lifecycle:transition); every other event
attribute under its own key, every other trace attribute as "case:<key>" (as pm4py names them).
_line is the line of the <event> element (unit "line"; "event", the event's position, without lxml).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import IO

import pyarrow as pa

from momenti.core.errors import InputError
from momenti.ingest.source import LINE, SourceTable

try:  # lxml gives each element its source line
    from lxml import etree as _etree

    HAVE_LXML = True
except ImportError:  # pragma: no cover - exercised only without lxml
    import xml.etree.ElementTree as _etree  # noqa: N813

    HAVE_LXML = False

ATTRIBUTE_TAGS = {"string", "date", "int", "float", "boolean", "id"}
EVENT_KEYS = {"concept:name": "activity", "time:timestamp": "timestamp", "org:resource": "agent",
              "lifecycle:transition": "lifecycle"}
OWN = ("case_id", "customer_id", "activity", "timestamp", "agent")  # always present, in this order
RESERVED = {*OWN, "lifecycle", LINE}


def _local(tag: object) -> str:
    if not isinstance(tag, str):  # comments and processing instructions (lxml)
        return ""
    return tag.rsplit("}", 1)[-1]


def _attributes(elem) -> list[tuple[str, str]]:  # noqa: ANN001
    """(key, value) of the attribute elements directly under `elem` (nested ones, lists, are left out)."""
    out = []
    for child in elem:
        if _local(child.tag) in ATTRIBUTE_TAGS:
            key, value = child.get("key"), child.get("value")
            if key is not None and value is not None:
                out.append((key, value))
    return out


class _Columns:
    """Rows gathered as columns of strings (absent = null)."""

    def __init__(self) -> None:
        self.cols: dict[str, list[str | None]] = {name: [] for name in OWN}
        self.lines: list[int] = []

    def add(self, row: dict[str, str], line: int) -> None:
        n = len(self.lines)
        for name, value in row.items():
            col = self.cols.get(name)
            if col is None:
                col = self.cols[name] = [None] * n
            col.append(value)
        for col in self.cols.values():
            if len(col) == n:
                col.append(None)
        self.lines.append(line)

    def table(self) -> pa.Table:
        names = list(self.cols)
        arrays = [pa.array(self.cols[n], pa.string()) for n in names]
        return pa.table([*arrays, pa.array(self.lines, pa.int64())], names=[*names, LINE])


def _event_row(attrs: list[tuple[str, str]]) -> dict[str, str]:
    row: dict[str, str] = {}
    plain: list[tuple[str, str]] = []
    for key, value in attrs:
        if key in EVENT_KEYS:
            row[EVENT_KEYS[key]] = value
        else:
            plain.append((key, value))
    for key, value in plain:  # a key named like one of ours ("activity") does not take its place
        if key == "customer_id" or (key not in row and key not in RESERVED):
            row[key] = value
        else:
            row[f"xes:{key}"] = value
    return row


def _case_values(attrs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in attrs:
        if key == "concept:name":
            values["case_id"] = value
        elif key == "customer_id":
            values["customer_id"] = value
        else:
            values[f"case:{key}"] = value
    if "customer_id" not in values and "case_id" in values:
        values["customer_id"] = values["case_id"]
    return values


def _open(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def read_xes(path: Path) -> SourceTable:

    out = _Columns()
    pending: list[tuple[dict[str, str], int]] = []  # the rows of the trace being read
    count = 0  # events seen (their position, when lines are not known)
    depth_trace = 0  # ElementTree only: inside a <trace>?
    root = None
    with _open(path) as fh:
        if HAVE_LXML:
            events = _etree.iterparse(fh, events=("end",), huge_tree=True, remove_comments=True)
        else:
            events = _etree.iterparse(fh, events=("start", "end"))
        try:
            for ev, elem in events:
                tag = _local(elem.tag)
                if ev == "start":  # ElementTree only
                    if root is None:
                        root = elem
                    if tag == "trace":
                        depth_trace += 1
                    continue
                if tag == "event":
                    count += 1
                    line = elem.sourceline if HAVE_LXML else count
                    row = _event_row(_attributes(elem))
                    if HAVE_LXML:
                        parent = elem.getparent()
                        in_trace = parent is not None and _local(parent.tag) == "trace"
                    else:
                        in_trace = depth_trace > 0
                    if in_trace:
                        pending.append((row, line))
                        elem.clear()  # the emptied element stays until its trace is done
                    else:  # an event outside any trace (not valid XES, but readable)
                        out.add(row, line)
                        elem.clear()
                elif tag == "trace":
                    # Trace attributes are read at the end of the trace: XES does not require them first.
                    case = _case_values(_attributes(elem))
                    for row, line in pending:
                        out.add({**case, **row}, line)  # an event's own customer_id wins
                    pending.clear()
                    depth_trace -= 1
                    elem.clear()
                    if HAVE_LXML:
                        parent = elem.getparent()
                        while elem.getprevious() is not None:
                            del parent[0]
                    elif root is not None:
                        root.remove(elem)
                if HAVE_LXML and root is None and elem.getparent() is None:
                    root = elem
        except _etree.ParseError as exc:  # lxml: XMLSyntaxError is one
            raise InputError(f"{path}:{_error_line(exc)}: not well-formed XML: {_error_text(exc)}") from exc
        except (OSError, EOFError) as exc:  # a broken .gz
            raise InputError(f"{path}: cannot read: {exc}") from exc
    if HAVE_LXML:
        root = getattr(events, "root", None) if root is None else root
    if root is not None and _local(root.tag) != "log":
        raise InputError(f"{path}:1: not an XES log (the document element is <{_local(root.tag)}>, not <log>)")
    return SourceTable(out.table(), "line" if HAVE_LXML else "event", [])


def _error_line(exc: Exception) -> int:
    lineno = getattr(exc, "lineno", None)
    if lineno is None:
        pos = getattr(exc, "position", None)
        lineno = pos[0] if pos else 0
    return int(lineno or 0)


def _error_text(exc: Exception) -> str:
    msg = str(getattr(exc, "msg", None) or exc)
    return re.sub(r",? ?:? ?line \d+, column \d+$", "", msg).rstrip(":, ")
