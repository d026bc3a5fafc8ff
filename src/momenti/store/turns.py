"""Whose turn it is to write a SQLite store, across the processes and threads of one machine.

SQLite has one write lock per database. Writers meeting on it alone are parted by its busy handler, which sleeps
1, 2, 5 ... 100 ms between tries: under load (`momenti serve --workers N`, the background dispatcher marking
events delivered) that put 100-400 ms on some writes (bench/http_ingest.py). Writers that take a turn on a file
lock first (core/locks.py) wait in the kernel and wake the moment the previous one commits; SQLite's lock is then
free. The lock file sits beside the database (`momenti.db.writers`). PostgreSQL queues lock waiters itself: no
turn is taken there.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from momenti.core.locks import FileLock


def turn_path(engine: Any) -> Path | None:
    """The turn file of a SQLite store file; None for another database or an in-memory one."""
    if engine.dialect.name != "sqlite":
        return None
    db = engine.url.database
    if not db or db == ":memory:" or str(db).startswith("file:"):
        return None
    return Path(db).with_name(Path(db).name + ".writers")


def write_turn(engine: Any) -> AbstractContextManager:
    """A context to hold around one write transaction. A new lock object per call: one object must not be
    shared between threads, and opening the file costs microseconds."""
    path = turn_path(engine)
    return FileLock(path) if path is not None else nullcontext()
