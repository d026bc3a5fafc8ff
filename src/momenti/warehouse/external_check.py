"""`momenti warehouse check-mapping`: every table and column a mapping file names, looked up in the warehouse,
with its type checked against the replica column it stands for; row counts when a table is fine. Reads only
the warehouse's catalog and counts rows: nothing is created there."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import ibis

from momenti.warehouse.mapping import Mapping, Source, mapping_problems
from momenti.warehouse.schema import TABLES


@dataclass
class Problem:
    key: str  # where in the mapping file: events.columns.activity, responses.questions.nps.column, ...
    table: str
    column: str
    message: str

    def line(self) -> str:
        where = ".".join(p for p in (self.table, self.column) if p)
        return f"{self.key}: {where + ': ' if where else ''}{self.message}"


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # mapping section -> rows of its table

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "problems": [asdict(p) for p in self.problems], "rows": self.rows}


def compatible(have: ibis.DataType, want: ibis.DataType) -> bool:
    """Whether a company column of type `have` can stand for a replica column of type `want` (cast losslessly
    enough: an integer id read as text, a date as a timestamp at midnight, a decimal score as a float)."""
    if want.is_string():
        return have.is_string() or have.is_integer() or have.is_uuid()
    if want.is_integer():
        return have.is_integer()
    if want.is_floating():
        return have.is_numeric() and not have.is_boolean()
    if want.is_timestamp():
        return have.is_timestamp() or have.is_date()
    if want.is_boolean():
        return have.is_boolean() or have.is_integer()
    return have == want


def _targets(section: str, src: Source) -> list[tuple[str, str, ibis.DataType]]:
    """(mapping key, company column, replica type) of every column the section maps."""
    if section == "events":
        schema = TABLES["events"]
    else:
        schema = ibis.schema({**TABLES["answers"], **TABLES["responses"], "response_id": "int64"})
    out = [(f"{section}.columns.{name}", col, schema[name]) for name, col in src.columns.items()]
    for key, q in getattr(src, "questions", {}).items():
        if q.column:
            want = ibis.dtype("float64") if q.numeric else ibis.dtype("string")
            out.append((f"{section}.questions.{key}.column", q.column, want))
    return out


def check_sources(backend: ibis.BaseBackend, mapping: Mapping) -> CheckReport:
    report = CheckReport()
    for section, src in mapping.sources().items():
        try:
            schema = backend.table(src.table, database=src.where).schema()
        except Exception as exc:  # noqa: BLE001 - each backend names a missing table its own way
            report.problems.append(Problem(f"{section}.table", src.label, "",
                                           f"table not found ({type(exc).__name__})"))
            continue
        bad = False
        for key, column, want in _targets(section, src):
            if column not in schema:
                report.problems.append(Problem(key, src.label, column, "column not found"))
                bad = True
            elif not compatible(schema[column], want):
                report.problems.append(Problem(key, src.label, column,
                                               f"type {schema[column]}, not usable as {want}"))
                bad = True
        if not bad:
            report.rows[section] = int(backend.table(src.table, database=src.where).count().execute())
    return report


def check_mapping_file(path: str | Path, backend_for: object) -> CheckReport:
    """Read and validate the file, then (when it parses) check it against the backend `backend_for()` opens."""
    mapping, problems = mapping_problems(path)
    if mapping is None:
        return CheckReport([Problem(key or "(file)", "", "", message) for key, message in problems])
    return check_sources(backend_for(), mapping)  # type: ignore[operator]
