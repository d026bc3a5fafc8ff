"""Opening the warehouse: DuckDB by default, any Ibis backend by URL.

A DuckDB file admits one writing process at a time, and the server, the CLI and a notebook may all want
it: so every operation opens the warehouse, does its work and closes it, retrying while another process
holds the lock. Inside one process, operations running at the same time share one open database (see
_SharedDuckDB).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from momenti.core.config import EXTERNAL_MARK, EXTERNAL_PREFIX
from momenti.core.errors import ExternalWarehouseError
from momenti.core.sql import sql_literal
from momenti.warehouse.schema import TABLES

if TYPE_CHECKING:
    from momenti.warehouse.external import Views
    from momenti.warehouse.spark import SparkWarehouse

# momenti.warehouse.spark.SCHEME, not imported from there: that module loads on the first Spark warehouse only
SPARK_SCHEME = "pyspark://"


class WarehouseConnection:
    """One operation's warehouse. Beside the Ibis backend (`.ibis`), the few statements Ibis does not cover
    (deletes, updates, layout changes, raw reads), each written once per engine: DuckDB, a SQL server such as
    PostgreSQL, and Spark (`.spark`, momenti.warehouse.spark: Parquet tables without DELETE or UPDATE)."""

    read_only = False  # True: the company's own warehouse, read through a mapping (ExternalWarehouse)

    def __init__(self, backend: BaseBackend, is_duckdb: bool, url: str = "",
                 spark: SparkWarehouse | None = None) -> None:
        self.ibis = backend
        self.is_duckdb = is_duckdb
        self.url = url  # which warehouse: part of the key of what is cached about its questions
        self.spark = spark

    @property
    def is_spark(self) -> bool:
        return self.spark is not None

    @property
    def duck(self):  # noqa: ANN201 - the raw duckdb connection
        return self.ibis.con

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def require(self, *names: str) -> None:
        """A question about to read these tables through SQL text says so: nothing here; an external warehouse
        refuses when its mapping cannot give one (ExternalWarehouse)."""

    def tables(self) -> set[str]:
        if self.spark is not None:
            return self.spark.tables()
        return set(self.ibis.list_tables())

    def create_table(self, name: str, schema: ibis.Schema) -> None:
        if self.spark is not None:
            self.spark.create(name)
        else:
            self.ibis.create_table(name, schema=schema)

    def drop_table(self, name: str) -> None:
        if self.spark is not None:
            self.spark.drop(name)
        else:
            self.ibis.drop_table(name)

    def insert(self, name: str, data: pa.Table) -> None:
        if not data.num_rows:
            return
        data = data.select(list(TABLES[name].names)) if name in TABLES else data
        if self.is_duckdb:
            self.duck.register("_incoming", data)
            self.duck.execute(f'INSERT INTO "{name}" SELECT * FROM _incoming')
            self.duck.unregister("_incoming")
        elif self.spark is not None:
            self.spark.append(name, data.cast(TABLES[name].to_pyarrow()))
        else:
            self.ibis.insert(name, ibis.memtable(data.cast(TABLES[name].to_pyarrow())))

    def sql(self, statement: str) -> None:
        if self.is_duckdb:
            self.duck.execute(statement)
        elif self.spark is not None:
            self.spark.sql(statement)
        else:
            with self.ibis.raw_sql(statement):
                pass

    def delete_rows(self, name: str, where: str | None = None) -> None:
        """DELETE FROM name [WHERE where]: `where` is SQL over the table's own columns (no subquery; for one,
        `delete_in`)."""
        if self.spark is not None:
            if where is None:
                self.spark.delete_all(name)
            else:
                self.spark.delete_where(name, where)
            return
        self.sql(f'DELETE FROM "{name}"' + (f" WHERE {where}" if where is not None else ""))

    def delete_in(self, name: str, columns: list[str], query: str) -> None:
        """DELETE FROM name WHERE (columns) IN (query): the rows whose columns equal one of the query's rows
        (a row with a NULL among them is kept, as by IN)."""
        if self.spark is not None:
            self.spark.delete_in(name, columns, query)
            return
        cols = ", ".join(f'"{c}"' for c in columns)
        self.sql(f'DELETE FROM "{name}" WHERE {cols if len(columns) == 1 else f"({cols})"} IN ({query})')

    def delete_keys(self, name: str, column: str, keys: pa.Array | pa.ChunkedArray) -> None:
        """Delete the rows of `name` whose `column` is one of `keys` (rows about to be replaced)."""
        if self.is_duckdb:
            self.duck.register("_changed", pa.table({column: keys}))
            self.duck.execute(f'DELETE FROM "{name}" WHERE "{column}" IN (SELECT "{column}" FROM _changed)')
            self.duck.unregister("_changed")
            return
        if self.spark is not None:
            self.spark.delete_keys(name, column, keys)
            return
        values = keys.to_pylist()
        for i in range(0, len(values), 2000):  # bounded statements
            chunk = ", ".join(sql_literal(k) for k in values[i:i + 2000])
            self.sql(f'DELETE FROM "{name}" WHERE "{column}" IN ({chunk})')

    def rows(self, sql: str) -> list[tuple]:
        """Rows of a small SQL query, without Ibis's compile step (a few ms that every question would pay)."""
        if self.is_duckdb:
            return self.duck.execute(sql).fetchall()
        if self.spark is not None:
            return self.spark.rows(sql)
        with self.ibis.raw_sql(sql) as cur:
            return list(cur.fetchall())

    def records(self, sql: str) -> tuple[list[tuple], list[str]]:
        """The rows of a query and its column names (any engine)."""
        if self.is_duckdb or self.spark is not None:
            t = self.arrow(sql)
            return [tuple(r.values()) for r in t.to_pylist()], t.column_names
        with self.ibis.raw_sql(sql) as cur:
            return list(cur.fetchall()), [d[0] for d in cur.description]

    def arrow(self, sql: str) -> pa.Table:
        """The rows of a query as Arrow (DuckDB and Spark; another engine's rows come through `rows`)."""
        if self.spark is not None:
            return self.spark.arrow(sql)
        if not self.is_duckdb:
            raise NotImplementedError(f"{self.url}: Arrow results from DuckDB and Spark only")
        return self.duck.execute(sql).to_arrow_table()

    def present_columns(self) -> dict[str, set[str]]:
        """Per table, the columns it has (what an older layout lacks is the rest)."""
        if self.spark is not None:
            return self.spark.present_columns()
        rows = self.ibis.sql("SELECT table_name, column_name FROM information_schema.columns "
                             "WHERE table_schema = current_schema()").to_pyarrow().to_pylist()
        present: dict[str, set[str]] = {}
        for row in rows:
            present.setdefault(row["table_name"], set()).add(row["column_name"])
        return present

    def add_column(self, name: str, column: str, dtype: ibis.DataType) -> None:
        """ALTER TABLE ADD COLUMN. Spark needs none: its tables are registered with the layout's columns, and a
        Parquet file without one reads it as NULL."""
        if self.spark is not None:
            return
        mapper = self.ibis.compiler.type_mapper
        self.sql(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {mapper.from_ibis(dtype).sql(self.ibis.name)}')

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


class ExternalWarehouse(WarehouseConnection):
    """The company's own warehouse, read through a mapping file (MOMENTI_WAREHOUSE_MAPPING): every replica table
    an insight asks for is an expression over the company's tables (momenti.warehouse.external.Views), SQL text
    naming replica tables gets them as WITH definitions, and every write is refused, so momenti never creates,
    writes or drops anything there."""

    read_only = True

    def __init__(self, backend: BaseBackend, url: str, views: Views) -> None:
        super().__init__(backend, False, url)
        self.views = views

    @property
    def is_spark(self) -> bool:  # Spark's SQL has no ordered aggregation: the insights take the other road
        return self.ibis.name == "pyspark"

    @property
    def duck(self):  # noqa: ANN201
        raise ExternalWarehouseError("the external warehouse is read through Ibis only")

    def table(self, name: str) -> ibis.Table:
        return self.views.table(name)

    def tables(self) -> set[str]:
        return set(TABLES)

    def require(self, *names: str) -> None:
        for name in names:
            self.views.table(name)

    def present_columns(self) -> dict[str, set[str]]:
        return {name: set(schema.names) for name, schema in TABLES.items()}

    def _refuse(self, name: str) -> ExternalWarehouseError:
        return ExternalWarehouseError(
            f"the warehouse is external and read-only (MOMENTI_WAREHOUSE_MAPPING): momenti does not write "
            f"{name!r} there, and a question needing it (kept at sync) is not answered in external mode")

    def create_table(self, name: str, schema: ibis.Schema) -> None:
        raise self._refuse(name)

    def drop_table(self, name: str) -> None:
        raise self._refuse(name)

    def insert(self, name: str, data: pa.Table) -> None:
        raise self._refuse(name)

    def sql(self, statement: str) -> None:
        raise self._refuse(statement.split("(")[0][:60])

    def delete_rows(self, name: str, where: str | None = None) -> None:
        raise self._refuse(name)

    def delete_in(self, name: str, columns: list[str], query: str) -> None:
        raise self._refuse(name)

    def delete_keys(self, name: str, column: str, keys: pa.Array | pa.ChunkedArray) -> None:
        raise self._refuse(name)

    def add_column(self, name: str, column: str, dtype: ibis.DataType) -> None:
        raise self._refuse(name)

    def _sql(self, sql: str) -> str:
        return self.views.with_ctes(sql, "`" if self.is_spark else '"')

    def records(self, sql: str) -> tuple[list[tuple], list[str]]:
        sql = self._sql(sql)
        if self.is_spark:
            df = self.ibis._session.sql(sql)
            return [tuple(r) for r in df.collect()], list(df.columns)
        if self.ibis.name == "duckdb":
            cur = self.ibis.con.cursor()
            try:
                rows = cur.execute(sql).fetchall()
                return rows, [d[0] for d in cur.description]
            finally:
                cur.close()
        with self.ibis.raw_sql(sql) as cur:
            return list(cur.fetchall()), [d[0] for d in cur.description]

    def rows(self, sql: str) -> list[tuple]:
        return self.records(sql)[0]

    def arrow(self, sql: str) -> pa.Table:
        if self.is_spark:
            return self.ibis._session.sql(self._sql(sql)).toArrow()
        rows, columns = self.records(sql)
        return pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in rows]) if rows else pa.table(
            {c: pa.array([], pa.null()) for c in columns})


def split_external(url: str) -> tuple[str, Path] | None:
    """(the company's warehouse URL, the mapping file) of a URL the settings made for MOMENTI_WAREHOUSE_MAPPING."""
    if not url.startswith(EXTERNAL_PREFIX):
        return None
    inner, _, path = url[len(EXTERNAL_PREFIX):].rpartition(EXTERNAL_MARK)
    return inner, Path(path)


def external_backend(url: str) -> BaseBackend:
    """The Ibis backend of a company warehouse URL (Spark: a session of its own, no database made)."""
    if url.startswith(SPARK_SCHEME):
        from momenti.warehouse.spark import external_backend as spark_backend

        return spark_backend(url)
    return ibis.connect(url)


@contextmanager
def _open_external(url: str) -> Iterator[WarehouseConnection]:
    from momenti.warehouse.external import Views
    from momenti.warehouse.mapping import load_mapping

    inner, path = split_external(url)  # type: ignore[misc]
    mapping = load_mapping(path)
    backend = external_backend(inner)
    try:
        yield ExternalWarehouse(backend, url, Views(backend, mapping))
    finally:
        if not inner.startswith(SPARK_SCHEME):  # the Spark session stays for the process, as momenti's own
            backend.disconnect()


def duckdb_path(url: str) -> Path | None:
    if url.startswith("duckdb://"):
        rest = url[len("duckdb://"):]
        return Path(rest) if rest and rest != ":memory:" else None
    return None


class _SharedDuckDB:
    """One DuckDB database opened by this process, used through a cursor per operation.

    DuckDB refuses to attach the same file twice in one process ("Unique file handle conflict"), which two
    threads opening it at once (the server's readers and its background sync) would do. So the process opens
    the file once while anyone uses it, every operation gets its own cursor (a connection to the same database:
    safe across threads), and the last one out closes it, so that other processes (the CLI, a notebook) can
    open the file between operations, as before."""

    lock = threading.Lock()  # guards `open` and every users count
    open: dict[Path, _SharedDuckDB] = {}

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.users = 0

    @classmethod
    def acquire(cls, path: Path, wait_s: float) -> _SharedDuckDB:
        with cls.lock:
            shared = cls.open.get(path)
            if shared is None:
                shared = cls.open[path] = cls(_connect_duckdb(path, wait_s))
            shared.users += 1
            return shared

    def release(self, path: Path) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                del self.open[path]
                self.con.close()


def duckdb_memory_bytes() -> int | None:
    """Memory the DuckDB databases this process holds open use now (buffer pool, data not yet checkpointed:
    DuckDB's own `duckdb_memory()` accounting), or None while none is open. For monitoring (GET /metrics)."""
    with _SharedDuckDB.lock:  # a release cannot close a database while it is asked
        total = None
        for shared in _SharedDuckDB.open.values():
            cur = shared.con.cursor()
            try:
                (used,) = cur.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchone()
            finally:
                cur.close()
            total = (total or 0) + int(used)
        return total


def _connect_duckdb(path: Path | None, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, retrying while another process holds its lock."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con = duckdb.connect(str(path) if path else ":memory:")
            break
        except duckdb.Error as exc:  # duckdb.IOException: another process holds the file lock
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    # Checkpoint (compress and write blocks) once per ~256 MB of changes, not after every import chunk.
    con.execute("SET checkpoint_threshold = '256MB'")
    return con


@contextmanager
def open_warehouse(url: str, wait_s: float = 120.0) -> Iterator[WarehouseConnection]:
    if url.startswith(EXTERNAL_PREFIX):
        with _open_external(url) as conn:
            yield conn
        return
    if url.startswith("duckdb://"):
        path = duckdb_path(url)
        shared = _SharedDuckDB.acquire(path.resolve(), wait_s) if path is not None else None
        try:
            con = shared.con.cursor() if shared is not None else _connect_duckdb(None, wait_s)
            con.execute("SET TimeZone='UTC'")
            con.execute("SET enable_progress_bar = false")  # never a progress bar on a user's terminal
            conn = WarehouseConnection(ibis.duckdb.from_connection(con), True, url)
            try:
                yield conn
            finally:
                conn.ibis.disconnect()
        finally:
            if shared is not None:
                shared.release(path.resolve())
        return
    if url.startswith(SPARK_SCHEME):  # one session per process and directory, kept open (momenti.warehouse.spark)
        from momenti.warehouse.spark import warehouse

        spark = warehouse(url)
        yield WarehouseConnection(spark.ibis, False, url, spark)
        return
    conn = WarehouseConnection(ibis.connect(url), False, url)
    try:
        yield conn
    finally:
        conn.ibis.disconnect()


def copy_duckdb(path: Path, dst: Path, wait_s: float = 120.0) -> str:
    """A consistent copy of the DuckDB file `path` into the new file `dst`, taken under the file's lock (no
    other process writes meanwhile; `COPY FROM DATABASE` writes only live rows, so the copy holds none of the
    deleted ones). "copied", or why not ("no warehouse file", "in use by this process")."""
    path = path.resolve()
    if not path.exists():
        return "no warehouse file"
    with _SharedDuckDB.lock:
        if path in _SharedDuckDB.open:
            return "in use by this process"
        con = _connect_duckdb(path, wait_s)
        try:
            con.execute("CHECKPOINT")
            name = con.execute("SELECT current_database()").fetchone()[0]
            for leftover in (dst, Path(str(dst) + ".wal")):
                leftover.unlink(missing_ok=True)
            con.execute(f"ATTACH {sql_literal(str(dst))} AS momenti_copy")
            con.execute(f'COPY FROM DATABASE "{name}" TO momenti_copy')
            con.execute("DETACH momenti_copy")
        finally:
            con.close()
    return "copied"


def rewrite_duckdb_file(url: str, wait_s: float = 120.0) -> str:
    """Copy a DuckDB warehouse into a fresh file and put it in the old one's place, so the blocks that held
    deleted rows (an erased customer's) do not survive in the file. Returns what was done ("rewritten", or
    why not: not a DuckDB file, in use by this process). Between the copy and the swap the file's lock is
    released: a process that writes in that instant is the only window, and the warehouse is a replica (a sync
    brings it back)."""
    import os

    path = duckdb_path(url)
    if path is None or not path.exists():
        return "not a DuckDB file"
    fresh = path.resolve().with_name(path.name + ".rewrite")
    done = copy_duckdb(path, fresh, wait_s)
    if done != "copied":
        return done
    os.replace(fresh, path.resolve())
    return "rewritten"
