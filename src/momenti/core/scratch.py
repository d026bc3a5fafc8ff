"""Scratch DuckDB connections for in-memory work (validation, shaping rows): cheap cursors on one database.

Opening a fresh in-memory DuckDB costs ~10 ms; a cursor on a shared one costs next to nothing and still has
its own registered tables, temporary tables and settings, so callers cannot see each other's work.
"""

from __future__ import annotations

import threading

import duckdb

_lock = threading.Lock()
_db: duckdb.DuckDBPyConnection | None = None


def scratch() -> duckdb.DuckDBPyConnection:
    global _db
    with _lock:
        if _db is None:
            _db = duckdb.connect()
        con = _db.cursor()
    # Naive timestamps are UTC everywhere in momenti. No progress bar (a per-connection setting): in the
    # Python API DuckDB draws it on stderr, between our own lines.
    con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar = false")
    return con
