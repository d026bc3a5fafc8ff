"""The warehouse on a local Spark session (`MOMENTI_WAREHOUSE_URL=pyspark://local`), through Ibis.

The tables are Parquet directories under the data directory (`DATA_DIR/spark-warehouse/<table>/`). What Spark SQL
does not do on plain Parquet tables is done here, so the rest of the warehouse code asks the same of every
engine (momenti.warehouse.connection dispatches):

- tables that outlive the process: Spark's default catalog is in memory and forgets its tables when the process
  ends, so when a warehouse is opened every table of the layout (momenti.warehouse.schema.TABLES) whose directory
  exists is registered again, as an external Parquet table at that directory with the layout's schema (a
  Parquet file without a column of the layout reads it as NULL: an added column needs no ALTER TABLE);
- DELETE, UPDATE, TRUNCATE: the table is written again, without (or with the changed) rows, into a new directory
  that then takes the old one's place (Spark cannot overwrite a table it reads in the same query); a rewrite
  that would change nothing is skipped;
- no transactions: statements take effect one by one (a sync interrupted half-way is finished by the next one,
  as on PostgreSQL; `sync --rebuild` starts over).

The session: `local[2]`, no UI, log level ERROR, UTC, `TIMESTAMP` meaning a timestamp without time zone (DuckDB's
TIMESTAMP: the store's times are UTC wall-clock values), ANSI SQL with double-quoted identifiers (the hand-written
SQL of the warehouse quotes its identifiers so), 4 shuffle partitions, Arrow for every transfer to and from
Python, nothing downloaded. One JVM per process, kept while the process lives (starting one takes seconds); each
warehouse directory gets a session of its own on it (its own database in the shared catalog, so two data
directories in one process do not see each other's tables).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import sys
import threading
import warnings
from pathlib import Path
from urllib.parse import urlparse

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from momenti.warehouse.schema import TABLES

SCHEME = "pyspark://"
MASTER = "local[2]"
APPEND_ROWS = 1_000_000  # rows per Arrow transfer to the JVM (see SparkWarehouse.append)
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
CONTEXT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}
LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
"""


def spark_root(url: str) -> Path | None:
    """The directory of a `pyspark://local/<absolute path>` warehouse (None: not a Spark URL). The settings give
    `pyspark://local` the data directory's `spark-warehouse`; without a path it is `./spark-warehouse`."""
    if not url.startswith(SCHEME):
        return None
    parsed = urlparse(url)
    if parsed.netloc not in ("", "local"):
        raise ValueError(f"{url}: only a local Spark session is supported (pyspark://local)")
    return Path(parsed.path or "spark-warehouse").resolve()


_LOCK = threading.Lock()
_BASE: list = []  # the process's SparkSession, made on first use
_OPEN: dict[Path, SparkWarehouse] = {}
_EXTERNAL: dict[Path, object] = {}  # Ibis backends on the company's catalog (external_backend)


def _base_session(root: Path):  # noqa: ANN202 - a pyspark.sql.SparkSession
    """The process's SparkSession (its JVM), started on first use. The JVM's own output (a start banner, and
    anything logged at ERROR) goes to `_spark/spark.log` under the first warehouse opened, not the terminal."""
    if _BASE:
        return _BASE[0]
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    # "PySpark does not yet fully support pandas >= 3.0.0", at every conversion: what is used here is tested on it
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python workers (UDFs) run this interpreter
    private = root / "_spark"
    private.mkdir(parents=True, exist_ok=True)
    log4j = private / "log4j2.properties"  # the launcher puts SPARK_CONF_DIR on the JVM's class path
    if not log4j.exists() or log4j.read_text() != LOG4J:
        log4j.write_text(LOG4J)
    os.environ.setdefault("SPARK_CONF_DIR", str(private))
    settings = {**CONTEXT_CONF, **SESSION_CONF, "spark.sql.warehouse.dir": str(private / "managed"),
                "spark.driver.extraJavaOptions": "-Duser.timezone=UTC"}
    conf = SparkConf().setMaster(MASTER).setAppName("momenti").setAll(
        list(settings.items()))
    with open(private / "spark.log", "ab") as log:  # the JVM keeps its own descriptor
        gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
    context = SparkContext(conf=conf, gateway=gateway)
    context.setLogLevel("ERROR")
    session = SparkSession(context)
    _BASE.append(session)
    atexit.register(_stop)
    return session


def _stop() -> None:
    with _LOCK:
        _OPEN.clear()
        _EXTERNAL.clear()
        if _BASE:
            _BASE.pop().stop()


def warehouse(url: str) -> SparkWarehouse:
    """The Spark warehouse at `url`, opened once per process (a session and its tables registered)."""
    root = spark_root(url)
    assert root is not None
    with _LOCK:
        found = _OPEN.get(root)
        if found is None:
            found = _OPEN[root] = SparkWarehouse(root, _base_session(root).newSession())
        return found


def external_backend(url: str):  # noqa: ANN201 - an Ibis PySpark backend
    """An Ibis backend on a session of its own for the company's tables in the process's Spark catalog (an external,
    read-only warehouse): momenti's session settings, and no database or table of momenti's made."""
    root = spark_root(url)
    assert root is not None
    with _LOCK:  # one per directory and process, like momenti's own warehouse: a session per question would pile up
        backend = _EXTERNAL.get(root)
        if backend is None:
            session = _base_session(root).newSession()
            for key, value in SESSION_CONF.items():
                session.conf.set(key, value)
            backend = _EXTERNAL[root] = ibis.pyspark.connect(session)
        return backend


def spark_struct(schema: ibis.Schema):  # noqa: ANN201 - a pyspark StructType
    """The layout's columns as Spark types; a timestamp is TIMESTAMP_NTZ (DuckDB's TIMESTAMP)."""
    from ibis.backends.pyspark.datatypes import PySparkType
    from pyspark.sql.types import StructField, StructType, TimestampNTZType

    return StructType([StructField(name, TimestampNTZType() if dtype.is_timestamp() else PySparkType.from_ibis(dtype),
                                   True) for name, dtype in schema.items()])


class SparkWarehouse:
    """The Parquet tables of one warehouse directory, on a Spark session of their own."""

    def __init__(self, root: Path, session) -> None:  # noqa: ANN001 - a pyspark.sql.SparkSession
        self.root = root
        self.session = session
        for key, value in SESSION_CONF.items():
            session.conf.set(key, value)
        self.database = "momenti_" + hashlib.sha256(str(root).encode()).hexdigest()[:12]
        session.sql(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
        session.catalog.setCurrentDatabase(self.database)
        self.ibis = ibis.pyspark.connect(session)
        self.register()

    # -- tables ------------------------------------------------------------------------------------------

    def path(self, name: str) -> Path:
        return self.root / name

    def _qualified(self, name: str) -> str:
        return f"`{self.database}`.`{name}`"

    def register(self) -> None:
        """Every table of the layout whose directory exists, registered in this session's catalog."""
        have = self.tables()
        for name in TABLES:
            _recover(self.path(name))
            if name not in have and self.path(name).is_dir():
                self._catalog_create(name)

    def tables(self) -> set[str]:
        return {t.name for t in self.session.catalog.listTables(self.database)}

    def _catalog_create(self, name: str) -> None:
        self.session.catalog.createTable(self._qualified(name).replace("`", ""), path=str(self.path(name)),
                                         source="parquet", schema=spark_struct(TABLES[name]))

    def create(self, name: str) -> None:
        if name in self.tables():
            return
        self.path(name).mkdir(parents=True, exist_ok=True)
        self._catalog_create(name)

    def drop(self, name: str) -> None:
        self.session.sql(f"DROP TABLE IF EXISTS {self._qualified(name)}")
        for leftover in (self.path(name), _aside(self.path(name), "old"), _aside(self.path(name), "new")):
            shutil.rmtree(leftover, ignore_errors=True)

    def frame(self, name: str):  # noqa: ANN201 - a pyspark DataFrame of the table
        return self.session.table(self._qualified(name))

    def present_columns(self) -> dict[str, set[str]]:
        """Per table, the columns every one of its Parquet files holds (what ALTER TABLE ADD COLUMN would have to
        add is the rest); a table without files holds the layout's."""
        out = {}
        for name in self.tables():
            if name not in TABLES:
                continue
            files = list(self.path(name).glob("*.parquet"))
            columns = set(TABLES[name].names)
            for f in files:
                columns &= set(pq.read_schema(f).names)
            out[name] = columns
        return out

    # -- writing -----------------------------------------------------------------------------------------

    def append(self, name: str, data: pa.Table) -> None:
        """Arrow rows (the layout's columns, in its order) appended to the table, APPEND_ROWS at a time: the
        JVM reads each Arrow stream whole into its heap (1 GB by default), and 10 M events at once exhausted
        it (bench/process.py on Spark)."""
        struct = spark_struct(TABLES[name])
        for start in range(0, max(data.num_rows, 1), APPEND_ROWS):
            part = data.slice(start, APPEND_ROWS)
            self.session.createDataFrame(part, schema=struct).write.insertInto(self._qualified(name))

    def replace(self, name: str, df) -> None:  # noqa: ANN001 - a pyspark DataFrame
        """The table's rows := `df`'s (which may read the table itself): written into a new directory, which then
        takes the old one's place."""
        path = self.path(name)
        new, old = _aside(path, "new"), _aside(path, "old")
        shutil.rmtree(new, ignore_errors=True)
        struct = spark_struct(TABLES[name])
        df.select(*[df[f.name].cast(f.dataType).alias(f.name) for f in struct.fields]).write.mode(
            "overwrite").parquet(str(new))
        shutil.rmtree(old, ignore_errors=True)
        path.rename(old)
        new.rename(path)
        shutil.rmtree(old, ignore_errors=True)
        self.session.catalog.refreshTable(self._qualified(name))

    def delete_all(self, name: str) -> None:
        path = self.path(name)
        if any(path.glob("*.parquet")):
            shutil.rmtree(path)
            path.mkdir(parents=True)
            self.session.catalog.refreshTable(self._qualified(name))

    def delete_where(self, name: str, predicate: str) -> None:
        """DELETE FROM name WHERE predicate (SQL over the table's columns; no subquery)."""
        t = self.frame(name)
        if t.where(predicate).limit(1).count():
            self.replace(name, t.where(f"NOT (({predicate}) <=> TRUE)"))

    def delete_in(self, name: str, columns: list[str], query: str) -> None:
        """DELETE FROM name WHERE (columns) IN (query): rows whose columns equal a row of the query's."""
        keys = self.session.sql(query).toDF(*columns).distinct()
        self._anti(name, keys, columns)

    def delete_keys(self, name: str, column: str, keys: pa.Array | pa.ChunkedArray) -> None:
        field = next(f for f in spark_struct(TABLES[name]).fields if f.name == column)
        from pyspark.sql.types import StructType

        keys_df = self.session.createDataFrame(pa.table({column: keys}), schema=StructType([field]))
        self._anti(name, keys_df, [column])

    def _anti(self, name: str, keys, columns: list[str]) -> None:  # noqa: ANN001 - a pyspark DataFrame
        t = self.frame(name)
        if t.join(keys, columns, "left_semi").limit(1).count():
            self.replace(name, t.join(keys, columns, "left_anti").select(*t.columns))

    def update_from(self, name: str, keys: list[str], column: str, values: pa.Table) -> None:
        """UPDATE name SET column = v.value FROM values v WHERE the keys match (one row of `values` per key):
        `values` holds the key columns and `value`."""
        from pyspark.sql import functions as F  # noqa: N812

        t = self.frame(name)
        struct = spark_struct(TABLES[name])
        types = {f.name: f.dataType for f in struct.fields}
        v = self.session.createDataFrame(values)
        v = v.select(*[v[k].cast(types[k]).alias(k) for k in keys], v["value"].cast(types[column]).alias("_value"),
                     F.lit(True).alias("_hit")).dropDuplicates(keys)
        matched = t.join(v, keys, "inner")
        if not matched.where(~matched[column].eqNullSafe(matched["_value"])).limit(1).count():
            return
        j = t.join(v, keys, "left")
        self.replace(name, j.select(*[F.when(j["_hit"], j["_value"]).otherwise(j[c]).alias(c) if c == column
                                      else j[c] for c in t.columns]))

    # -- reading -----------------------------------------------------------------------------------------

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.session.sql(sql).collect()]

    def arrow(self, sql: str) -> pa.Table:
        return self.session.sql(sql).toArrow()

    def sql(self, statement: str) -> None:
        self.session.sql(statement)


def _aside(path: Path, what: str) -> Path:
    return path.with_name(f"{path.name}.{what}")


def _recover(path: Path) -> None:
    """A rewrite interrupted between its two renames: the old directory put back (the new one may be partial)."""
    old, new = _aside(path, "old"), _aside(path, "new")
    if not path.exists() and old.is_dir():
        old.rename(path)
    for leftover in (old, new):
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)
