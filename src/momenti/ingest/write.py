"""Bulk writes of validated rows into the store, through ADBC (SQLite bulk insert, PostgreSQL COPY).

Each chunk is one transaction: it takes the write lock, drops rows whose external_id the store already
has (idempotency), gives the new rows the next ids (monotonic, so the warehouse can sync by id) and inserts
facts and answers together. A crash between chunks leaves whole chunks only; a re-run skips what landed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from momenti.core.scratch import scratch
from momenti.core.sql import sql_literal
from momenti.ingest.read import LINE
from momenti.ingest.specs import KindSpec
from momenti.store.raw import RawConnection

# Column order of each fact table as written (store column <- validated column).
FACT_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "responses": [("external_id", "external_id"), ("customer_key", "customer_id"),
                  ("touchpoint_id", "touchpoint"), ("submitted_at", "submitted_at"),
                  ("channel", "lower(channel)"), ("language", "lower(language)"), ("partial", "false")],
    "events": [("external_id", "external_id"), ("customer_key", "customer_id"), ("case_id", "case_id"),
               ("timestamp", "timestamp"), ("activity", "activity"),
               ("touchpoint_id", "touchpoint"), ("channel", "lower(channel)"), ("reason", "reason"),
               ("duration_s", "duration_s"), ("agent", "agent"), ("outcome", "outcome"),
               ("attributes", "attributes")],
    "feedback": [("external_id", "external_id"), ("source", "lower(source)"), ("text", "text"),
                 ("rating", "rating"), ("customer_key", "customer_id"), ("touchpoint_id", "touchpoint"),
                 ("created_at", "coalesce(created_at, $now)"), ("url", "url"),
                 ("language", "lower(language)")],
}
TIME_COLUMNS = {"submitted_at", "timestamp", "created_at", "first_seen"}


class StoreWriter:
    """Write transactions over a raw store connection (ADBC or DBAPI, see store/raw.py)."""

    def __init__(self, conn: RawConnection) -> None:
        self.conn = conn
        self.sqlite = conn.sqlite

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scalar(self, sql: str) -> object:
        return self.conn.scalar(sql)

    @contextmanager
    def locked(self, table: str) -> Iterator[None]:
        """A write transaction holding the table's write lock until commit."""
        with self.conn.transaction(lock=table):
            yield

    def next_id(self, table: str) -> int:
        top = int(self.scalar(f"SELECT coalesce(max(id), 0) FROM {table}") or 0)
        if self.sqlite:  # AUTOINCREMENT never reuses an id, even of deleted rows
            seq = self.scalar(f"SELECT seq FROM sqlite_sequence WHERE name = '{table}'")
            top = max(top, int(seq or 0))
        return top + 1

    def existing_ids(self, table: str, external_ids: pa.Array) -> pa.Table:
        if self.scalar(f"SELECT 1 FROM {table} LIMIT 1") is None:
            return pa.table({"external_id": pa.array([], pa.string())})
        self.conn.ingest("_incoming", pa.table({"external_id": external_ids}), temporary=True)
        found = self.conn.fetch_arrow(
            f"SELECT i.external_id FROM _incoming i JOIN {table} t ON t.external_id = i.external_id")
        self.conn.execute("DROP TABLE _incoming")
        if not found.num_rows:
            return pa.table({"external_id": pa.array([], pa.string())})
        return found.cast(pa.schema([("external_id", pa.string())]))

    def append(self, table: str, data: pa.Table) -> None:
        if data.num_rows:
            self.conn.ingest(table, self._for_store(data))

    def finish_ids(self, table: str) -> None:
        if not self.sqlite:  # explicit ids were written: move the identity sequence past them
            self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 1) FROM {table}))")

    def _for_store(self, data: pa.Table) -> pa.Table:
        if not self.sqlite:
            return data
        if data.num_rows <= 5_000:  # small (API) batches: a DuckDB statement would cost more than it saves
            import pyarrow.compute as pc

            return pa.table([pc.strftime(c, format="%Y-%m-%d %H:%M:%S") if pa.types.is_timestamp(c.type)
                             else c.cast(pa.int64()) if pa.types.is_boolean(c.type) else c
                             for c in data.columns], names=data.column_names)
        # SQLAlchemy reads SQLite datetimes in this text form; write them the same way (DuckDB formats
        # in parallel, several times faster than a per-value strftime).
        exprs = []
        for name, typ in zip(data.column_names, data.schema.types, strict=True):
            if pa.types.is_timestamp(typ):
                exprs.append(f"strftime(\"{name}\", '%Y-%m-%d %H:%M:%S.%f') AS \"{name}\"")
            elif pa.types.is_boolean(typ):
                exprs.append(f"\"{name}\"::BIGINT AS \"{name}\"")
            else:
                exprs.append(f"\"{name}\"")
        con = scratch()
        con.register("data", data)
        out = con.execute(f"SELECT {', '.join(exprs)} FROM data").to_arrow_table()
        con.close()
        return out


def chunk_facts(
    con: duckdb.DuckDBPyConnection, spec: KindSpec, first_id: int, skip: pa.Table, now: dt.datetime,
) -> pa.Table:
    """The store rows of one chunk (the registered `chunk_rows`), minus `skip`, numbered from first_id.

    Ids follow the input's order: the id is the tie-break of rows with the same time (events of one case at the
    same timestamp keep the order the file gave them, as pm4py's stable sort does)."""
    con.register("_skip", skip)
    cols = ", ".join(f"{expr} AS {name}" for name, expr in FACT_COLUMNS[spec.table])
    cols = cols.replace("$now", f"TIMESTAMP '{now:%Y-%m-%d %H:%M:%S}'")
    rows = con.execute(f"""
        SELECT {first_id} - 1 + row_number() OVER (ORDER BY {LINE}) AS id, {cols}
        FROM chunk_rows v
        WHERE NOT EXISTS (SELECT 1 FROM _skip s WHERE s.external_id = v.external_id)
        ORDER BY {LINE}
    """).to_arrow_table()
    con.unregister("_skip")
    return _cast_times(rows)


def _cast_times(t: pa.Table) -> pa.Table:
    cols = []
    for name in t.column_names:
        col = t[name]
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("us"))
        cols.append(col)
    return pa.table(cols, names=t.column_names)


def chunk_answers(con: duckdb.DuckDBPyConnection, facts: pa.Table, answer_keys: list[str]) -> pa.Table:
    """The answer rows of one chunk: its wide answer columns unpivoted, with the ids its facts received."""
    con.register("_facts", facts.select(["id", "external_id"]))
    if answer_keys:
        # One UNPIVOT (pairs of number/text columns into rows), not one SELECT per key joined by UNION ALL: the
        # planning time of the latter grows faster than the number of keys (400 keys took 17 s for 3 rows).
        # INCLUDE NULLS and the filter: without them UNPIVOT drops a pair as soon as either value is null.
        n = len(answer_keys)
        pairs = ", ".join(f"(_a{i}_num, _a{i}_txt) AS {sql_literal(str(i))}" for i in range(n))
        con.register("_keys", pa.table({"k": [str(i) for i in range(n)], "question": answer_keys}))
        long = (f"(SELECT external_id, _keys.question, value_num, value_text FROM "
                f"(SELECT external_id, {', '.join(f'_a{i}_num, _a{i}_txt' for i in range(n))} FROM chunk_rows) "
                f"UNPIVOT INCLUDE NULLS ((value_num, value_text) FOR k IN ({pairs})) JOIN _keys USING (k) "
                "WHERE value_num IS NOT NULL OR value_text IS NOT NULL)")
    else:
        long = "(SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::DOUBLE, NULL::VARCHAR WHERE false)"
    out = con.execute(f"""
        SELECT f.id AS response_id, q.id AS question_id, a.value_num, a.value_text
        FROM {long} a(external_id, question, value_num, value_text)
        JOIN _facts f USING (external_id) JOIN _questions q ON q.key = a.question
    """).to_arrow_table()
    con.unregister("_facts")
    if answer_keys:
        con.unregister("_keys")
    return out


def _differs(a: str, b: str, sqlite: bool) -> str:
    return f"{a} IS NOT {b}" if sqlite else f"{a} IS DISTINCT FROM {b}"


def _merged_attributes(table: str, sqlite: bool) -> tuple[str, str]:
    """(the SQL of the known attributes merged with the incoming ones, the SQL testing it changes them).
    Compared as JSON on PostgreSQL: the text the store has may be spelled differently (key order, spaces)."""
    known = f"coalesce({table}.attributes, '{{}}')"
    if sqlite:
        merge = f"json_patch({known}, coalesce(excluded.attributes, '{{}}'))"
        return merge, f"{known} IS NOT {merge}"
    merge = f"({known}::jsonb || coalesce(excluded.attributes, '{{}}')::jsonb)::text"
    return merge, f"{known}::jsonb IS DISTINCT FROM ({merge})::jsonb"


def _upsert(writer: StoreWriter, table: str, data: pa.Table, sets: dict[str, str], changed: str,
            key: str = "customer_key") -> tuple[int, int]:
    """Insert rows keyed by `key` (customer_key), update known ones (`sets`: column -> SQL over `excluded`) where
    `changed` holds; rows written get the next `seq`, so a row equal to the store's changes nothing (not even
    `seq`). Returns (added, updated)."""
    before = int(writer.scalar(f"SELECT count(*) FROM {table}") or 0)
    seq = int(writer.scalar(f"SELECT coalesce(max(seq), 0) FROM {table}") or 0) + 1
    data = data.append_column("seq", pa.array([seq] * data.num_rows, pa.int64()))
    writer.conn.ingest("_upsert_in", writer._for_store(data), temporary=True)
    cols = ", ".join(data.column_names)
    where = "WHERE true" if writer.sqlite else ""  # SQLite needs a WHERE to parse ON CONFLICT after INSERT ... SELECT
    updates = ", ".join([*(f"{c} = {e}" for c, e in sets.items()), "seq = excluded.seq"])
    writer.conn.execute(f"""
        INSERT INTO {table} ({cols}) SELECT {cols} FROM _upsert_in {where}
        ON CONFLICT ({key}) DO UPDATE SET {updates}
        WHERE {changed}
    """)
    touched = int(writer.scalar(f"SELECT count(*) FROM {table} WHERE seq = {seq}") or 0)
    writer.conn.execute("DROP TABLE _upsert_in")
    added = int(writer.scalar(f"SELECT count(*) FROM {table}") or 0) - before
    return added, touched - added


def upsert_customers(writer: StoreWriter, rows: pa.Table) -> tuple[int, int]:
    """Insert new customers, merge attributes of known ones. Returns (added, updated)."""
    if not rows.num_rows:
        return 0, 0
    data = pa.table({"customer_key": rows["external_id"],
                     "first_seen": _cast_times(rows.select(["first_seen"]))["first_seen"],
                     "attributes": rows["attributes"]})
    sqlite = writer.sqlite
    merge, attributes_changed = _merged_attributes("customers", sqlite)
    first = ("min(coalesce(customers.first_seen, excluded.first_seen), "
             "coalesce(excluded.first_seen, customers.first_seen))" if sqlite else
             "least(customers.first_seen, excluded.first_seen)")
    changed = f"{attributes_changed} OR {_differs('customers.first_seen', first, sqlite)}"
    return _upsert(writer, "customers", data, {"attributes": merge, "first_seen": first}, changed)


def upsert_outcomes(writer: StoreWriter, rows: pa.Table) -> tuple[int, int]:
    """Insert new customer outcomes, replace status and dates of known ones (attributes merge as customers').
    A row equal to what the store has changes nothing (not even `seq`), so the same file imported twice is a
    no-op. Returns (added, updated)."""
    if not rows.num_rows:
        return 0, 0
    times = _cast_times(rows.select(["start_date", "end_date"]))
    data = pa.table({"customer_key": rows["external_id"], "status": rows["status"],
                     "start_date": times["start_date"], "end_date": times["end_date"],
                     "attributes": rows["attributes"]})
    sqlite = writer.sqlite
    merge, attributes_changed = _merged_attributes("outcomes", sqlite)
    # An empty start_date keeps the known one; end_date is replaced (a customer who came back has none).
    start = "coalesce(excluded.start_date, outcomes.start_date)"
    # SQLite compares times as instants: the store's text may be written with or without fractions of a second.
    instant = "julianday({})".format if sqlite else "{}".format
    changed = " OR ".join([_differs("outcomes.status", "excluded.status", sqlite),
                           _differs(instant("outcomes.start_date"), instant(start), sqlite),
                           _differs(instant("outcomes.end_date"), instant("excluded.end_date"), sqlite),
                           attributes_changed])
    return _upsert(writer, "outcomes", data, {"status": "excluded.status", "start_date": start,
                                              "end_date": "excluded.end_date", "attributes": merge}, changed)


def upsert_offers(writer: StoreWriter, rows: pa.Table) -> tuple[int, int]:
    """Insert new offers, replace what a known offer id says (its outcome, most often: pending -> accepted). A
    row equal to the store's changes nothing. Returns (added, updated)."""
    if not rows.num_rows:
        return 0, 0
    import pyarrow.compute as pc

    times = _cast_times(rows.select(["proposed_at"]))
    data = pa.table({"external_id": rows["external_id"], "customer_key": rows["customer_id"],
                     "offer": rows["offer"], "channel": pc.utf8_lower(rows["channel"]), "agent": rows["agent"],
                     "proposed_at": times["proposed_at"], "outcome": rows["outcome"]})
    sqlite = writer.sqlite
    instant = "julianday({})".format if sqlite else "{}".format
    cols = ("customer_key", "offer", "channel", "agent", "outcome")
    changed = " OR ".join([*(_differs(f"offers.{c}", f"excluded.{c}", sqlite) for c in cols),
                           _differs(instant("offers.proposed_at"), instant("excluded.proposed_at"), sqlite)])
    return _upsert(writer, "offers", data, {c: f"excluded.{c}" for c in (*cols, "proposed_at")}, changed,
                   key="external_id")
