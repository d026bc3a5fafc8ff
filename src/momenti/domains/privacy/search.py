"""Where a customer still appears: every column of every table of the store and of the warehouse, and every other
file of the data directory, searched for the customer's id, e-mail addresses and phone numbers (as free text may
hold them). The erasure's proof: it runs after the erase and must find nothing.

The database search is one statement per table (`lower(CAST(col AS TEXT)) LIKE '%needle%'` over every column);
a candidate row is then checked in Python against the exact patterns (a phone with any separators), so a
needle's substring elsewhere ("7731" in an amount) is not reported.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

from momenti.core.sql import sql_literal
from momenti.domains.privacy.subject import Subject
from momenti.warehouse.connection import duckdb_path

# Files of the data directory that are databases, searched through SQL (the store, the warehouse), not as bytes.
DB_SUFFIXES = ("-wal", "-shm", "-journal", ".wal")


@dataclass
class Hit:
    where: str  # "store", "warehouse", "file"
    table: str
    column: str
    rows: int

    def __str__(self) -> str:
        return f"{self.where} {self.table}.{self.column}: {self.rows} row(s)" if self.where != "file" else \
            f"file {self.table}: {self.rows} occurrence(s)"


@dataclass
class SearchReport:
    hits: list[Hit] = field(default_factory=list)
    searched: dict[str, int] = field(default_factory=dict)  # "store tables", "warehouse tables", "files"
    unread: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(h.rows for h in self.hits)

    def as_dict(self) -> dict[str, Any]:
        return {"found": self.total, "where": [str(h) for h in self.hits], "searched": self.searched,
                "unread": self.unread}


def like_any(cols: list[str], needles: list[str], cast: str) -> str:
    parts = []
    for c in cols:
        expr = f"lower(CAST(\"{c}\" AS {cast}))"
        # % and _ in a needle stay wildcards: a wider prefilter; the exact check is `Subject.holds`
        parts += [f"{expr} LIKE {sql_literal('%' + n + '%')}" for n in needles]
    return " OR ".join(parts) or "false"


KEY_COLUMNS = ("customer_key", "customer_id")  # where the id is a key, looked for exactly (any length)


def _check(rows: list[tuple], cols: list[str], subject: Subject) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        for c, v in zip(cols, row, strict=True):
            if v is not None and (subject.holds(v) or (c in KEY_COLUMNS and v == subject.customer_id)):
                counts[c] = counts.get(c, 0) + 1
    return counts


def _where(cols: list[str], subject: Subject, cast: str) -> str:
    keys = [f'"{c}" = {sql_literal(subject.customer_id)}' for c in cols if c in KEY_COLUMNS]
    return " OR ".join([like_any(cols, subject.needles, cast), *keys])


def search_store(engine: Engine, subject: Subject, report: SearchReport) -> None:
    insp = inspect(engine)
    tables = [t for t in insp.get_table_names() if t != "alembic_version"]
    cast = "TEXT"
    with engine.connect() as conn:
        for t in tables:
            cols = [c["name"] for c in insp.get_columns(t)]
            where = _where(cols, subject, cast)
            try:
                rows = [tuple(r) for r in conn.execute(text(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} '
                                                            f'FROM "{t}" WHERE {where}'))]
            except Exception as exc:  # noqa: BLE001 - a table that cannot be read is reported, not skipped silently
                report.unread.append(f"store {t}: {str(exc).splitlines()[0][:120]}")
                conn.rollback()
                continue
            for c, n in _check(rows, cols, subject).items():
                report.hits.append(Hit("store", t, c, n))
    report.searched["store tables"] = len(tables)


def search_warehouse(wh: Any, subject: Subject, report: SearchReport) -> None:
    names = sorted(wh.tables())
    cast = "STRING" if wh.is_spark else "VARCHAR"  # Spark's VARCHAR needs a length
    for t in names:
        try:
            cols = list(wh.table(t).columns)
            where = _where(cols, subject, cast)
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = wh.rows(f'SELECT {quoted} FROM "{t}" WHERE {where}')
        except Exception as exc:  # noqa: BLE001 - reported, as in the store
            report.unread.append(f"warehouse {t}: {str(exc).splitlines()[0][:120]}")
            continue
        for c, n in _check(rows, cols, subject).items():
            report.hits.append(Hit("warehouse", t, c, n))
    report.searched["warehouse tables"] = len(names)


def database_files(data_dir: Path, settings: Any) -> set[Path]:
    """The data directory's database files (and their journals): searched through SQL, never as bytes."""
    out: set[Path] = set()
    paths = [duckdb_path(settings.warehouse), Path(settings.jobs_file)]
    if settings.store_url.startswith("sqlite:///"):
        paths.append(Path(settings.store_url.removeprefix("sqlite:///")))
    for p in paths:
        if p is not None:
            p = p.resolve()
            out |= {p, *(Path(str(p) + s) for s in DB_SUFFIXES)}
    return out


def data_files(data_dir: Path, skip: set[Path]) -> Iterator[tuple[Path, str | OSError]]:
    """Every file of the data directory but its databases (`skip`) and symlinks, with its content decoded as
    UTF-8 (undecodable bytes replaced: a pickled or binary file is searched for the text it carries), or the
    error that kept it from being read. Walked once by the search and once by the erasure."""
    for root, _, files in os.walk(data_dir):
        for f in files:
            p = Path(root, f).resolve()
            if p in skip or p.is_symlink():
                continue
            try:
                yield p, p.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                yield p, exc


def search_files(data_dir: Path, subject: Subject, skip: set[Path], report: SearchReport) -> None:
    n = 0
    for p, content in data_files(data_dir, skip):
        n += 1
        if isinstance(content, OSError):
            report.unread.append(f"file {p.name}: {content}")
            continue
        count = sum(len(pat.findall(content)) for pat in subject.patterns())
        if count:
            report.hits.append(Hit("file", str(p.relative_to(data_dir.resolve())), "", count))
    report.searched["files"] = n


def job_rows(con: sqlite3.Connection) -> Iterator[tuple[str, list[str], list[tuple]]]:
    """The job queue's SQLite file (Huey), table by table: its columns (`rowid` first) and its rows, bytes
    decoded — a pickled job's strings are in its bytes, so the bytes are searched as text."""
    for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        cols = ["rowid", *(r[1] for r in con.execute(f'PRAGMA table_info("{t}")'))]
        rows = con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) if c != "rowid" else c for c in cols)} '
                           f'FROM "{t}"').fetchall()
        yield t, cols, [tuple(v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in r) for r in rows]


def search_jobs(path: Path, subject: Subject, report: SearchReport) -> None:
    """The job queue's SQLite file, when there is one (a Redis queue holds ids only)."""
    if not path.exists():
        return
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for t, cols, rows in job_rows(con):
            for c, k in _check([r[1:] for r in rows], cols[1:], subject).items():
                report.hits.append(Hit("store", f"{path.name}:{t}", c, k))
    except sqlite3.Error as exc:
        report.unread.append(f"{path.name}: {exc}")
    finally:
        con.close()


def search(ctx: Any, subject: Subject) -> SearchReport:
    """Every place the customer may be left in: the store, the warehouse, the job queue, the data directory."""
    report = SearchReport()
    search_store(ctx.engine, subject, report)
    with ctx.warehouse() as wh:
        search_warehouse(wh, subject, report)
    data_dir = Path(ctx.settings.data_dir)
    if data_dir.exists():
        search_jobs(Path(ctx.settings.jobs_file), subject, report)
        search_files(data_dir, subject, database_files(data_dir, ctx.settings), report)
    return report
