"""Raw store connections for bulk work, speaking Arrow: ADBC (fast) or the SQLAlchemy DBAPI connection.

ADBC's SQLite driver carries its own copy of the SQLite library. Two SQLite libraries with the same file
open in one process break each other's POSIX locks (seen here as "disk I/O error"), so:
- SQLAlchemy uses no pool on SQLite (a connection lives only while in use), and
- a guard refuses to open one library's connection while the other's is open in this process.
CLI processes use ADBC for imports (several times faster); the server, where requests run in threads,
uses the DBAPI path only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

_lock = threading.Lock()
_open = {"adbc": 0, "dbapi": 0}


class MixedSQLiteLibraries(RuntimeError):
    pass


def _enter(side: str) -> None:
    other = "dbapi" if side == "adbc" else "adbc"
    with _lock:
        if _open[other]:
            raise MixedSQLiteLibraries(
                f"a {other} SQLite connection is open in this process; opening a {side} one would corrupt locks")
        _open[side] += 1


def _leave(side: str) -> None:
    with _lock:
        _open[side] -= 1


def guard_sqlite_engine(engine: Engine) -> None:
    """Count this engine's open sqlite3 connections so ADBC can refuse to open beside them."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        _enter("dbapi")

    @event.listens_for(engine, "close")
    def _on_close(dbapi_conn, _record):  # noqa: ANN001
        _leave("dbapi")

    @event.listens_for(engine, "close_detached")
    def _on_close_detached(dbapi_conn):  # noqa: ANN001
        _leave("dbapi")


def _arrow_sql_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "BIGINT"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    return "TEXT"


class RawConnection:
    """execute / scalar / fetch_arrow / ingest / commit / rollback / close, whatever the driver."""

    sqlite: bool
    cur: object  # the driver's DBAPI cursor

    def execute(self, sql: str) -> None:
        self.cur.execute(sql)  # type: ignore[attr-defined]

    def begin(self) -> None:
        """SQLite: BEGIN IMMEDIATE takes the write lock at once. PostgreSQL: the driver opens transactions."""
        if self.sqlite:
            self.execute("BEGIN IMMEDIATE")

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[None]:
        """A write transaction, committed at the end of the block or rolled back. `lock`: a table whose write
        lock is held until commit (SQLite's BEGIN IMMEDIATE locks the database; PostgreSQL locks the table), so
        that ids or sequence numbers read inside it cannot be handed out twice by concurrent writers."""
        self.begin()
        try:
            if lock is not None and not self.sqlite:
                self.execute(f"LOCK TABLE {lock} IN EXCLUSIVE MODE")
            yield
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def fetch_arrow(self, sql: str) -> pa.Table: ...
    def ingest(self, table: str, data: pa.Table, temporary: bool = False, create: bool = False) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...

    def scalar(self, sql: str) -> object:
        t = self.fetch_arrow(sql)
        return t.column(0)[0].as_py() if t.num_rows else None

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AdbcConnection(RawConnection):
    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            import adbc_driver_sqlite.dbapi as adbc

            _enter("adbc")
            try:
                # Autocommit, with our own BEGIN IMMEDIATE: PRAGMAs only work outside a transaction, and
                # IMMEDIATE takes the write lock before ids are read.
                self.conn = adbc.connect(url.split("///", 1)[1], autocommit=True)
            except BaseException:
                _leave("adbc")
                raise
        else:
            import adbc_driver_postgresql.dbapi as adbc

            u = make_url(url).set(drivername="postgresql")
            self.conn = adbc.connect(u.render_as_string(hide_password=False))
        self.cur = self.conn.cursor()
        if self.sqlite:
            self.cur.execute("PRAGMA busy_timeout = 60000")
            # Bulk rows arrive validated (touchpoint, question and response ids resolved by the importer),
            # so per-row foreign-key probes would only repeat that work.
            self.cur.execute("PRAGMA foreign_keys = OFF")
            self.cur.execute("PRAGMA cache_size = -1048576")  # 1 GiB: the unique index stays in memory
            self.cur.execute("PRAGMA synchronous = NORMAL")

    def fetch_arrow(self, sql: str) -> pa.Table:
        self.cur.execute(sql)
        return self.cur.fetch_arrow_table()

    def ingest(self, table: str, data: pa.Table, temporary: bool = False, create: bool = False) -> None:
        mode = "replace" if (temporary or create) else "append"
        self.cur.adbc_ingest(table, data, mode=mode, temporary=temporary)

    def commit(self) -> None:
        if self.sqlite:
            self.cur.execute("COMMIT")
        else:
            self.conn.commit()

    def rollback(self) -> None:
        if self.sqlite:
            self.cur.execute("ROLLBACK")
        else:
            self.conn.rollback()

    def close(self) -> None:
        try:
            self.cur.close()
            self.conn.close()
        finally:
            if self.sqlite:
                _leave("adbc")


class DbapiConnection(RawConnection):
    """The SQLAlchemy engine's own driver (sqlite3 or psycopg): fine for small and medium batches."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self.conn = engine.raw_connection()
        self.cur = self.conn.cursor()
        self.param = "?" if self.sqlite else "%s"

    def fetch_arrow(self, sql: str) -> pa.Table:
        self.cur.execute(sql)
        names = [d[0] for d in self.cur.description]
        rows = self.cur.fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
        return pa.table({n: pa.array(list(c)) if c else pa.array([], pa.null()) for n, c in zip(names, cols,
                                                                                             strict=True)})

    def ingest(self, table: str, data: pa.Table, temporary: bool = False, create: bool = False) -> None:
        if temporary or create:
            self.cur.execute(f"DROP TABLE IF EXISTS {table}")
            cols = ", ".join(f"{n} {_arrow_sql_type(t)}" for n, t in zip(data.column_names, data.schema.types,
                                                                           strict=True))
            self.cur.execute(f"CREATE {'TEMP ' if temporary else ''}TABLE {table} ({cols})")
        if not data.num_rows:
            return
        marks = ", ".join([self.param] * data.num_columns)
        rows = zip(*[c.to_pylist() for c in data.columns], strict=True)
        self.cur.executemany(f"INSERT INTO {table} ({', '.join(data.column_names)}) VALUES ({marks})", rows)

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.cur.close()
        self.conn.close()
