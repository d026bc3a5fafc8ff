"""Opening the warehouse: DuckDB by default, any Ibis backend by URL.

A DuckDB file admits one writing process at a time, and the server, the CLI and a notebook may all want
it: so every operation opens the warehouse, does its work and closes it, retrying while another process
holds the lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from momenti.warehouse.schema import TABLES


def sql_literal(value: object) -> str:
    """A string literal for SQL text (DuckDB and PostgreSQL): single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


class WarehouseConnection:
    def __init__(self, backend: BaseBackend, is_duckdb: bool) -> None:
        self.ibis = backend
        self.is_duckdb = is_duckdb

    @property
    def duck(self):  # noqa: ANN201 - the raw duckdb connection
        return self.ibis.con

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def tables(self) -> set[str]:
        return set(self.ibis.list_tables())

    def insert(self, name: str, data: pa.Table) -> None:
        if not data.num_rows:
            return
        data = data.select(list(TABLES[name].names)) if name in TABLES else data
        if self.is_duckdb:
            self.duck.register("_incoming", data)
            self.duck.execute(f'INSERT INTO "{name}" SELECT * FROM _incoming')
            self.duck.unregister("_incoming")
        else:
            self.ibis.insert(name, ibis.memtable(data.cast(TABLES[name].to_pyarrow())))

    def sql(self, statement: str) -> None:
        if self.is_duckdb:
            self.duck.execute(statement)
        else:
            with self.ibis.raw_sql(statement):
                pass

    def delete_keys(self, name: str, column: str, keys: pa.Array | pa.ChunkedArray) -> None:
        """Delete the rows of `name` whose `column` is one of `keys` (rows about to be replaced)."""
        if self.is_duckdb:
            self.duck.register("_changed", pa.table({column: keys}))
            self.duck.execute(f'DELETE FROM "{name}" WHERE "{column}" IN (SELECT "{column}" FROM _changed)')
            self.duck.unregister("_changed")
            return
        values = keys.to_pylist()
        for i in range(0, len(values), 2000):  # bounded statements
            chunk = ", ".join(sql_literal(k) for k in values[i:i + 2000])
            self.sql(f'DELETE FROM "{name}" WHERE "{column}" IN ({chunk})')

    def rows(self, sql: str) -> list[tuple]:
        """Rows of a small SQL query, without Ibis's compile step (a few ms that every question would pay)."""
        if self.is_duckdb:
            return self.duck.execute(sql).fetchall()
        with self.ibis.raw_sql(sql) as cur:
            return list(cur.fetchall())

    def scalar(self, expr: ibis.Expr) -> object:
        return expr.execute()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if not self.is_duckdb:  # other engines: statements commit one by one
            yield
            return
        self.duck.execute("BEGIN TRANSACTION")
        try:
            yield
            self.duck.execute("COMMIT")
        except BaseException:
            self.duck.execute("ROLLBACK")
            raise


def duckdb_path(url: str) -> Path | None:
    if url.startswith("duckdb://"):
        rest = url[len("duckdb://"):]
        return Path(rest) if rest and rest != ":memory:" else None
    return None


@contextmanager
def open_warehouse(url: str, wait_s: float = 120.0) -> Iterator[WarehouseConnection]:
    if url.startswith("duckdb://"):
        path = duckdb_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                backend = ibis.duckdb.connect(str(path) if path else ":memory:")
                break
            except Exception as exc:  # duckdb.IOException: another process holds the file lock
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        backend.con.execute("SET TimeZone='UTC'; SET enable_progress_bar = false")  # no bar leaking to stderr
        # Checkpoint (compress and write blocks) once per ~256 MB of changes, not after every import chunk.
        backend.con.execute("SET checkpoint_threshold = '256MB'")
        conn = WarehouseConnection(backend, True)
    else:
        conn = WarehouseConnection(ibis.connect(url), False)
    try:
        yield conn
    finally:
        conn.ibis.disconnect()
