"""Erasing a customer, verified.

`delete` removes every row of theirs from the store (`tables.CUSTOMER_ROWS`) in one transaction; `anonymise`
keeps their scores, interactions, outcomes, offers and cases for the aggregates under a random id and drops every
text and contact datum. Either way, their e-mail addresses and phone numbers are then redacted from any other
free text that quotes them (another customer's comment, a note, a case title), the warehouse is rebuilt from
the store (so the replica, its rollups, the text facts and the journey facts count nothing of theirs), lines
quoting them are removed from the data directory's text files (rejects files), and the whole deployment is
searched again (`search.search`): the erasure is done only when that finds nothing.

On SQLite the deletes run with `secure_delete` (freed pages are zeroed, not left in the file) and the WAL is
checkpointed afterwards, so the erased rows do not linger in the database files either. The audit log records
the erasure under the customer's pseudonym, never their id (domains/privacy/subject.py).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from momenti.core.errors import InputError
from momenti.domains.privacy.search import (
    SearchReport,
    data_files,
    database_files,
    job_rows,
    like_any,
    search,
    search_warehouse,
)
from momenti.domains.privacy.subject import Subject
from momenti.domains.privacy.tables import ANONYMISE_DROP, ANONYMISE_KEEP, CUSTOMER_ROWS, ID_COLUMNS
from momenti.warehouse.connection import rewrite_duckdb_file

MODES = ("delete", "anonymise")
TEXT_SUFFIXES = {".csv", ".jsonl", ".json", ".txt", ".log", ".tsv", ".yaml", ".yml", ".xes", ".xml"}


@dataclass
class EraseReport:
    customer: str
    mode: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted (or anonymised)
    redacted: dict[str, int] = field(default_factory=dict)  # table.column or file -> rows/lines redacted
    left: SearchReport = field(default_factory=SearchReport)
    not_removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said, not failing: the search found nothing left
    new_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.left.total == 0 and not self.left.unread and not self.not_removed

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "ok": self.ok, "rows": self.rows, "redacted": self.redacted,
                "left": self.left.as_dict(), "not_removed": self.not_removed, "notes": self.notes}


def _store_rows(conn: Any, cid: str, mode: str, report: EraseReport) -> None:
    if mode == "delete":
        for table, where in CUSTOMER_ROWS.items():
            n = conn.execute(text(f"DELETE FROM {table} WHERE {where}"), {"cid": cid}).rowcount
            report.rows[table] = int(n or 0)
        return
    new = report.new_id = "anon-" + secrets.token_hex(8)
    # free-text answers and every table not kept go; kept rows lose their text and contact data
    gone = conn.execute(text(f"DELETE FROM answers WHERE value_text IS NOT NULL AND ({CUSTOMER_ROWS['answers']})"),
                        {"cid": cid})
    report.rows["answers (text)"] = int(gone.rowcount or 0)
    for table, where in CUSTOMER_ROWS.items():
        if table in ANONYMISE_KEEP:
            sets = ANONYMISE_DROP.get(table)
            if sets:
                conn.execute(text(f"UPDATE {table} SET {sets} WHERE {where}"), {"cid": cid})
            continue
        report.rows[table] = int(conn.execute(text(f"DELETE FROM {table} WHERE {where}"), {"cid": cid}).rowcount or 0)
    for table, col in ID_COLUMNS.items():
        n = conn.execute(text(f"UPDATE {table} SET {col} = :new WHERE {col} = :cid"), {"new": new, "cid": cid}).rowcount
        report.rows[f"{table} (anonymised)"] = int(n or 0)
    # the customer's own case ids in the interaction log may be derived from them: new random ones, per case
    for (old,) in list(conn.execute(text("SELECT DISTINCT case_id FROM events WHERE customer_key = :new AND "
                                         "case_id IS NOT NULL"), {"new": new})):
        conn.execute(text("UPDATE events SET case_id = :c WHERE customer_key = :new AND case_id = :old"),
                     {"c": "anon-case-" + secrets.token_hex(6), "new": new, "old": old})


def _redact_store(conn: Any, subject: Subject, report: EraseReport) -> None:
    """Other rows quoting the customer (their e-mail in someone's comment, their id in a note): redacted in
    place. The audit log is append-only (hash-chained): what it holds is reported, never rewritten."""
    insp = inspect(conn)
    for table in insp.get_table_names():
        if table == "alembic_version":
            continue
        cols = [c["name"] for c in insp.get_columns(table)]
        pk = insp.get_pk_constraint(table).get("constrained_columns") or []
        if not subject.needles:
            continue
        where = like_any(cols, subject.needles, "TEXT")
        rows = list(conn.execute(text(f'SELECT * FROM "{table}" WHERE {where}')))
        for r in rows:
            m = r._mapping
            changes = {}
            for c in cols:
                v = m[c]
                if v is None:
                    continue
                if not subject.holds(v):  # text and JSON only: a number or a time never quotes anyone
                    continue
                raw = json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v)
                if table.startswith("audit") or not pk or c in pk:
                    report.not_removed.append(f"store {table}.{c}: " + ("the audit log is append-only"
                                              if table.startswith("audit") else "a key column"))
                    continue
                new = subject.redact(raw)
                changes[c] = json.loads(new) if isinstance(v, dict | list) else new
            if changes:
                sets = ", ".join(f'"{c}" = :v_{i}' for i, c in enumerate(changes))
                cond = " AND ".join(f'"{k}" = :k_{i}' for i, k in enumerate(pk))
                params = {**{f"v_{i}": (json.dumps(v) if isinstance(v, dict | list) else v)
                             for i, v in enumerate(changes.values())},
                          **{f"k_{i}": m[k] for i, k in enumerate(pk)}}
                conn.execute(text(f'UPDATE "{table}" SET {sets} WHERE {cond}'), params)
                for c in changes:
                    report.redacted[f"{table}.{c}"] = report.redacted.get(f"{table}.{c}", 0) + 1


def _redact_files(data_dir: Path, settings: Any, subject: Subject, report: EraseReport) -> None:
    for p, content in data_files(data_dir, database_files(data_dir, settings)):
        if isinstance(content, OSError):
            report.not_removed.append(f"file {p.name}: {content}")
            continue
        if not subject.found_in(content):
            continue
        if p.suffix.lower() not in TEXT_SUFFIXES:
            report.not_removed.append(f"file {p.relative_to(data_dir.resolve())}: not a text file")
            continue
        lines = content.splitlines(keepends=True)
        kept = [ln for ln in lines if not subject.found_in(ln)]
        tmp = p.with_name(p.name + ".erasing")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, p)  # whole or not at all
        report.redacted[f"file {p.relative_to(data_dir.resolve())}"] = len(lines) - len(kept)


def _redact_jobs(path: Path, subject: Subject, report: EraseReport) -> None:
    if not path.exists():
        return
    con = sqlite3.connect(path)
    try:
        for t, _, rows in list(job_rows(con)):
            gone = [r[0] for r in rows if any(subject.found_in(str(v)) for v in r[1:] if v is not None)]
            for rid in gone:  # a queued job quoting the customer (none of momenti's jobs carries personal data)
                con.execute(f'DELETE FROM "{t}" WHERE rowid = ?', (rid,))
            if gone:
                report.redacted[f"{path.name}:{t}"] = len(gone)
        con.commit()
    finally:
        con.close()


def search_warehouse_hits(ctx: Any, subject: Subject) -> bool:
    """Whether the warehouse still holds the customer although the store does not (an erasure interrupted
    before its rebuild): the erasure then rebuilds it all the same."""
    found = SearchReport()
    with ctx.warehouse() as wh:
        search_warehouse(wh, subject, found)
    return found.total > 0


def erase(ctx: Any, subject: Subject, mode: str = "delete") -> EraseReport:
    """Erase and verify. `ctx`: the workspace (engine, settings, warehouse(), sync())."""
    if mode not in MODES:
        raise InputError(f"mode {mode!r}: delete or anonymise")
    report = EraseReport(subject.customer_id, mode)
    engine = ctx.engine
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
            conn.commit()  # the pragma autobegan a transaction: the erasure is its own
        with conn.begin():
            _store_rows(conn, subject.customer_id, mode, report)
            _redact_store(conn, subject, report)
        if sqlite:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.commit()
    changed = any(report.rows.values()) or bool(report.redacted)
    if changed or search_warehouse_hits(ctx, subject):
        ctx.sync(rebuild=True)  # the replica, its rollups and every feed, from the store as it now is
        done = rewrite_duckdb_file(ctx.settings.warehouse)  # freed blocks of the old file hold what was erased
        if done not in ("rewritten", "not a DuckDB file"):
            report.notes.append(f"warehouse file not rewritten ({done}): erased rows may remain in its free "
                                "blocks until the next erase")
    data_dir = Path(ctx.settings.data_dir)
    if data_dir.exists():
        _redact_jobs(Path(ctx.settings.jobs_file), subject, report)
        _redact_files(data_dir, ctx.settings, subject, report)
    report.left = search(ctx, subject)
    return report
