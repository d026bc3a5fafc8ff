"""Incremental, resumable, idempotent sync of the store into the warehouse.

Facts move by monotonic id: the warehouse asks for "id > the largest I have" in batches, each batch landing
in one warehouse transaction together with its rollup counts, so an interrupted sync resumes where it
stopped and a repeated one adds nothing. Dimensions (journeys, questions) are small: replaced each time.
Customers carry a `seq` raised on every change and move the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import pyarrow as pa

from momenti.core.config import EXTERNAL_PREFIX
from momenti.core.errors import READ_ONLY_MESSAGE, ExternalWarehouseError
from momenti.core.scratch import scratch
from momenti.store.raw import RawConnection
from momenti.warehouse.connection import WarehouseConnection, open_warehouse, sql_literal
from momenti.warehouse.feeds import FeedContext, registered
from momenti.warehouse.lock import WAREHOUSE_LOCK  # noqa: F401 - re-exported for callers that lock
from momenti.warehouse.meta import set_meta
from momenti.warehouse.schema import ROLLUP_KEYS, SCHEMA_VERSION, SCORE_KINDS, TABLES, rollup_from_answers

Progress = Callable[[str, int, int], None]
BATCH_IDS = 2_000_000

TOUCHPOINTS_SQL = """
SELECT t.id AS touchpoint_id, t.key AS touchpoint, t.name_it AS touchpoint_name_it,
       t.name_en AS touchpoint_name_en, t.channel AS touchpoint_channel, s.key AS stage,
       s.name_it AS stage_name_it, s.name_en AS stage_name_en, s.position AS stage_position,
       j.key AS journey, j.name_it AS journey_name_it, j.name_en AS journey_name_en,
       t.position AS touchpoint_position, t.moment_of_truth, t.target_metric, t.target_score, t.archived
FROM touchpoints t JOIN stages s ON s.id = t.stage_id JOIN journeys j ON j.id = s.journey_id
"""

# How store-shaped rows become warehouse rows (run in a scratch DuckDB; `_tp` and `_q` map ids to keys).
SHAPE_SQL = {
    "responses": """SELECT f.id, f.external_id, f.customer_key AS customer_id, _tp.touchpoint,
        CAST(f.submitted_at AS TIMESTAMP) AS submitted_at, f.channel, f.language, CAST(f.partial AS BOOLEAN) AS partial
        FROM facts f LEFT JOIN _tp ON _tp.touchpoint_id = f.touchpoint_id""",
    "answers": """SELECT a.response_id, _q.question, a.value_num, a.value_text, r.customer_id, r.touchpoint,
        r.submitted_at, r.channel, r.language
        FROM ans a JOIN shaped_responses r ON r.id = a.response_id JOIN _q ON _q.question_id = a.question_id""",
    "events": """SELECT f.id, f.external_id, f.customer_key AS customer_id, f.case_id,
        CAST(f.timestamp AS TIMESTAMP) AS timestamp, f.activity, _tp.touchpoint, f.channel, f.reason,
        f.duration_s, f.agent, f.outcome, f.attributes
        FROM facts f LEFT JOIN _tp ON _tp.touchpoint_id = f.touchpoint_id""",
    "feedback": """SELECT f.id, f.external_id, f.source, f.text, f.rating, f.customer_key AS customer_id,
        _tp.touchpoint, CAST(f.created_at AS TIMESTAMP) AS created_at, f.url, f.language
        FROM facts f LEFT JOIN _tp ON _tp.touchpoint_id = f.touchpoint_id""",
}


@dataclass
class SyncReport:
    added: dict[str, int] = field(default_factory=dict)
    rebuilt: bool = False
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was done (an external, read-only warehouse)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


TOUCHPOINT_TYPES = {"touchpoint_id": pa.int64(), "stage_position": pa.int64(), "touchpoint_position": pa.int64(),
                    "moment_of_truth": pa.bool_(), "target_score": pa.float64(), "archived": pa.bool_()}
QUESTION_TYPES = {"question_id": pa.int64(), "scale_min": pa.float64(), "scale_max": pa.float64()}


def _typed(t: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    """Same columns whatever the driver returned (SQLite gives ints for booleans, all-null columns as null)."""
    cols = []
    for name in t.column_names:
        col = t[name]
        want = types.get(name, pa.string())
        if col.type != want:
            col = col.cast(pa.int64()).cast(want) if pa.types.is_boolean(want) and not pa.types.is_null(
                col.type) else col.cast(want)
        cols.append(col)
    return pa.table(cols, names=t.column_names)


class Dimensions:
    """Id -> key maps of the store, used to shape facts for the warehouse."""

    def __init__(self, touchpoints: pa.Table, questions: pa.Table) -> None:
        self.touchpoints = touchpoints  # TOUCHPOINTS_SQL columns
        self.questions = questions  # question_id, question, kind, scale_min, scale_max

    @classmethod
    def read(cls, store: RawConnection) -> Dimensions:
        tps = store.fetch_arrow(TOUCHPOINTS_SQL)
        questions = store.fetch_arrow("SELECT id AS question_id, key AS question, kind, scale_min, scale_max "
                                      "FROM questions")
        return cls(_typed(tps, TOUCHPOINT_TYPES), _typed(questions, QUESTION_TYPES))

    def score_questions(self) -> list[str]:
        return [q for q, k in zip(self.questions["question"].to_pylist(), self.questions["kind"].to_pylist(),
                                  strict=True) if k in SCORE_KINDS]


def shape(kind: str, facts: pa.Table, answers: pa.Table | None, dims: Dimensions) -> dict[str, pa.Table]:
    """Store-shaped Arrow rows of one kind -> the warehouse tables they feed (with rollup counts)."""
    con = scratch()
    con.register("facts", facts)
    con.register("_tp", dims.touchpoints.select(["touchpoint_id", "touchpoint"]))
    out = {kind: con.execute(SHAPE_SQL[kind]).to_arrow_table()}
    if kind == "responses" and answers is not None:
        con.register("shaped_responses", out["responses"])
        con.register("ans", answers)
        con.register("_q", dims.questions.select(["question_id", "question"]))
        out["answers"] = con.execute(SHAPE_SQL["answers"]).to_arrow_table()
        scores = dims.score_questions() or [""]
        con.register("shaped_answers", out["answers"])
        qlist = ", ".join(sql_literal(q) for q in scores)
        out["score_daily"] = con.execute(f"""
            SELECT CAST(submitted_at AS DATE) AS day, touchpoint, channel, question, value_num AS score,
                   count(*)::BIGINT AS n, language
            FROM shaped_answers WHERE question IN ({qlist}) AND value_num IS NOT NULL
            GROUP BY ALL""").to_arrow_table()
    con.close()
    return out


def layout_fingerprint() -> str:
    """A digest of every table's columns and types: when it changes, `ensure_schema` adds what is new."""
    import hashlib

    text = ";".join(f"{name}:{schema!r}" for name, schema in sorted(TABLES.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _add_missing_columns(wh: WarehouseConnection, have: set[str]) -> set[tuple[str, str]]:
    """Additive layout changes (a new column on an existing table) applied in place, so a warehouse made by an
    earlier version keeps its data; the readers of a new column check their own freshness markers. The
    (table, column) pairs added."""
    present = wh.present_columns()
    added = set()
    for name, schema in TABLES.items():
        if name not in have:
            continue
        for column, dtype in schema.items():
            if column not in present.get(name, set()):
                wh.add_column(name, column, dtype)
                added.add((name, column))
    return added


def ensure_schema(wh: WarehouseConnection, rebuild: bool = False) -> bool:
    """Create missing tables and columns; drop and recreate everything when asked or when the layout changed
    incompatibly (SCHEMA_VERSION). Nothing on an external warehouse: its tables are the company's."""
    if wh.read_only:
        return False
    have = wh.tables()
    meta: dict[str, str] = {}
    if "_meta" in have:
        m = wh.table("_meta")
        rows = m.filter(m.key.isin(["schema_version", "layout"])).to_pyarrow().to_pylist()
        meta = {r["key"]: r["value"] for r in rows}
    if rebuild or (have and meta.get("schema_version") != str(SCHEMA_VERSION)):
        for name in TABLES:
            if name in have:
                wh.drop_table(name)
        have = set()
        rebuild = True
    layout = layout_fingerprint()
    if have and meta.get("layout") != layout and ("score_daily", "language") in _add_missing_columns(wh, have):
        refold_rollup(wh)  # its old rows carry no language: counted again from the answers, which hold them all
    for name, schema in TABLES.items():
        if name not in have:
            wh.create_table(name, schema)
    if "_meta" not in have:
        wh.insert("_meta", pa.table({"key": ["schema_version"], "value": [str(SCHEMA_VERSION)]}))
    if meta.get("layout") != layout:
        set_meta(wh, "layout", layout)
    return rebuild


def compact_rollup(wh: WarehouseConnection) -> None:
    """Fold the counts each sync appended into one row per key (readers sum either way; this keeps it small)."""
    t = wh.table("score_daily")
    _replace_rollup(wh, t.group_by(ROLLUP_KEYS).aggregate(n=t.n.sum().cast("int64")))


def refold_rollup(wh: WarehouseConnection) -> None:
    """The rollup counted again from `answers` (every score answer is kept there: retention never purges
    scores, an erase rebuilds everything): for a rollup of an older layout, which lacked a key."""
    q = wh.table("questions")
    _replace_rollup(wh, rollup_from_answers(wh.table("answers"), q.filter(q.kind.isin(SCORE_KINDS)).question))


def _replace_rollup(wh: WarehouseConnection, folded: ibis.Table) -> None:
    folded = folded.select(list(TABLES["score_daily"].names))  # the table's column order: inserted by position
    if wh.is_duckdb:
        with wh.transaction():
            wh.duck.execute("CREATE TEMP TABLE _folded AS " + wh.ibis.compile(folded))
            wh.duck.execute("DELETE FROM score_daily")
            wh.duck.execute("INSERT INTO score_daily SELECT * FROM _folded")
            wh.duck.execute("DROP TABLE _folded")
    elif wh.spark is not None:  # written beside the table, then in its place (it reads the table)
        wh.spark.replace("score_daily", wh.spark.session.sql(str(wh.ibis.compile(folded))))
    else:
        data = folded.to_pyarrow()
        wh.delete_rows("score_daily")
        wh.insert("score_daily", data)


def _max(wh: WarehouseConnection, table: str, column: str) -> int:
    value = wh.table(table)[column].max().execute()
    return int(value) if value is not None and value == value else 0


def append_shaped(wh: WarehouseConnection, tables: dict[str, pa.Table]) -> None:
    with wh.transaction():
        for name, data in tables.items():
            wh.insert(name, data)


def replace_dimensions(wh: WarehouseConnection, dims: Dimensions) -> None:
    with wh.transaction():
        wh.delete_rows("touchpoints")
        wh.insert("touchpoints", dims.touchpoints.drop_columns(["touchpoint_id"]))
        wh.delete_rows("questions")
        wh.insert("questions", dims.questions.drop_columns(["question_id"]))


def _sync_facts(wh: WarehouseConnection, store: RawConnection, dims: Dimensions, kind: str,
                report: Progress, top: int) -> int:
    start = _max(wh, kind, "id")
    added = 0
    lo = start
    while lo < top:
        hi = min(top, lo + BATCH_IDS)
        facts = store.fetch_arrow(f"SELECT * FROM {kind} WHERE id > {lo} AND id <= {hi} ORDER BY id")
        answers = None
        if kind == "responses":
            answers = store.fetch_arrow(f"SELECT * FROM answers WHERE response_id > {lo} AND response_id <= {hi}")
        append_shaped(wh, shape(kind, facts, answers, dims))
        added += facts.num_rows
        lo = hi
        report(f"sync {kind}", lo - start, top - start)
    return added


def _sync_customers(wh: WarehouseConnection, store: RawConnection) -> int:
    since = _max(wh, "customers", "seq")
    rows = store.fetch_arrow(f"SELECT customer_key AS customer_id, first_seen, attributes, seq FROM customers "
                             f"WHERE seq > {since}")
    if not rows.num_rows:
        return 0
    con = scratch()
    con.register("c", rows)
    customers = con.execute("SELECT customer_id, CAST(first_seen AS TIMESTAMP) AS first_seen, seq FROM c"
                            ).to_arrow_table()
    attrs = con.execute("""
        SELECT customer_id, k.key AS attr, json_extract_string(attributes, '$."' || k.key || '"') AS value
        FROM c, (SELECT unnest(json_keys(attributes)) AS key) k WHERE attributes IS NOT NULL
    """).to_arrow_table() if "attributes" in rows.column_names else None
    con.close()
    with wh.transaction():
        wh.delete_keys("customers", "customer_id", customers["customer_id"])
        wh.delete_keys("customer_attributes", "customer_id", customers["customer_id"])
        wh.insert("customers", customers)
        if attrs is not None:
            wh.insert("customer_attributes", attrs)
    return customers.num_rows


def _sync_outcomes(wh: WarehouseConnection, store: RawConnection) -> int:
    """Customer outcomes changed since the warehouse's largest `seq`: replaced row by row (one per customer)."""
    since = _max(wh, "outcomes", "seq")
    rows = store.fetch_arrow(f"SELECT customer_key AS customer_id, status, start_date, end_date, attributes, seq "
                             f"FROM outcomes WHERE seq > {since}")
    if not rows.num_rows:
        return 0
    con = scratch()
    con.register("o", rows)
    outcomes = con.execute("SELECT customer_id, status, CAST(start_date AS TIMESTAMP) AS start_date, "
                           "CAST(end_date AS TIMESTAMP) AS end_date, CAST(attributes AS VARCHAR) AS attributes, "
                           "CAST(seq AS BIGINT) AS seq FROM o").to_arrow_table()
    con.close()
    with wh.transaction():
        wh.delete_keys("outcomes", "customer_id", outcomes["customer_id"])
        wh.insert("outcomes", outcomes)
    return outcomes.num_rows




def sync(connect: Callable[[], RawConnection], warehouse_url: str, rebuild: bool = False,
         progress: Progress | None = None, compact: bool = False) -> SyncReport:
    """Bring the warehouse up to date. `compact`: also fold the rollup (after pushes by an import). Refused on an
    external warehouse (MOMENTI_WAREHOUSE_MAPPING): momenti never writes there."""
    if warehouse_url.startswith(EXTERNAL_PREFIX):
        raise ExternalWarehouseError(READ_ONLY_MESSAGE)
    with WAREHOUSE_LOCK:
        return _sync(connect, warehouse_url, rebuild, progress, compact)


def _sync(connect: Callable[[], RawConnection], warehouse_url: str, rebuild: bool, progress: Progress | None,
          compact: bool) -> SyncReport:
    started = time.perf_counter()
    report = progress or (lambda *_: None)
    out = SyncReport()
    with connect() as store, open_warehouse(warehouse_url) as wh:
        out.rebuilt = ensure_schema(wh, rebuild)
        # The facts' extent first, the dimensions after: a question (or touchpoint) is committed before any fact
        # that refers to it, so every fact up to these ids finds its question in `dims`. Read the other way
        # round, a write landing in between (a request creating a new answer key) had its answers dropped by
        # the join to the questions, and the watermark then moved past them for good.
        tops = {kind: int(store.scalar(f"SELECT coalesce(max(id), 0) FROM {kind}") or 0) for kind in FACT_KINDS}
        dims = Dimensions.read(store)
        replace_dimensions(wh, dims)
        for kind in FACT_KINDS:
            out.added[kind] = _sync_facts(wh, store, dims, kind, report, tops[kind])
        out.added["customers"] = _sync_customers(wh, store)
        out.added["outcomes"] = _sync_outcomes(wh, store)
        context = FeedContext(wh, store, dims.touchpoints)
        for feed in registered():  # what the insights keep (journey and contact facts, text results)
            done = feed.refresh(context)
            if feed.counts:
                out.added[feed.name] = int(done or 0)
        if out.added["responses"] or compact:
            compact_rollup(wh)
    out.seconds = time.perf_counter() - started
    return out


def push(warehouse_url: str, kind: str, facts: pa.Table, answers: pa.Table | None, dims: Dimensions,
         wh: WarehouseConnection | None = None) -> bool:
    """After an import chunk commits: append it straight to the warehouse when the warehouse is exactly
    caught up to the chunk's first id (so the result equals a sync). Otherwise leave it to `sync`."""
    if not facts.num_rows:
        return True
    first = int(facts["id"][0].as_py())

    def _do(conn: WarehouseConnection) -> bool:
        if conn.read_only:
            return False
        ensure_schema(conn)
        if _max(conn, kind, "id") != first - 1:
            return False
        append_shaped(conn, shape(kind, facts, answers, dims))
        return True

    with WAREHOUSE_LOCK:
        if wh is not None:
            return _do(wh)
        with open_warehouse(warehouse_url) as conn:
            return _do(conn)


FACT_KINDS = ("responses", "events", "feedback")


def lag(store: RawConnection, wh: WarehouseConnection) -> dict[str, tuple[int, int, bool]]:
    """(store rows, warehouse rows, behind) of each fact table. Behind when the store's largest id is larger
    (ids only grow): an import killed after it committed, writes that no server synced."""
    out = {}
    have = wh.tables()
    for kind in FACT_KINDS:
        n = int(store.scalar(f"SELECT count(*) FROM {kind}") or 0)
        top = int(store.scalar(f"SELECT coalesce(max(id), 0) FROM {kind}") or 0)
        wn, wtop = wh.rows(f'SELECT count(*), coalesce(max(id), 0) FROM "{kind}"')[0] if kind in have else (0, 0)
        out[kind] = (n, int(wn), top > int(wtop))
    return out


def table_counts(warehouse_url: str) -> dict[str, int]:
    """Rows per warehouse table (on an external warehouse: the tables its mapping gives)."""
    out = {}
    with open_warehouse(warehouse_url) as wh:
        have = wh.tables()
        for name in TABLES:
            if name not in have:
                continue
            try:
                out[name] = int(wh.table(name).count().execute())
            except ExternalWarehouseError:  # kept by momenti's sync only: not on an external warehouse
                continue
    return out


__all__ = ["sync", "push", "Dimensions", "shape", "ensure_schema", "table_counts", "lag", "ibis"]
