"""Text results in the warehouse: `text_results` (one row per item) and `text_topics` (one row per item x topic).

The store's `text_results` rows carry a `seq` raised whenever a result is written or replaced (a newer analyzer
re-analyses an item). At each warehouse sync the rows with `seq` above the warehouse's largest are read from the
store together with their item's context (the response's customer, touchpoint, time and channel; the feedback's
customer, touchpoint, time and source), shaped in a scratch DuckDB (topics and aspects exploded from their
JSON) and replace the warehouse rows of the same items. A rebuilt warehouse has no `seq` and starts over.

Only masked text ever reaches these tables. The same step masks the warehouse's copies of the items' text
(`feedback.text`, `answers.value_text`): they were copied from the store by id before analysis replaced the
store's text with the masked text (analysis/text_store.py), and copied rows are not updated by a fact sync.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from momenti.core.scratch import scratch
from momenti.store.raw import RawConnection
from momenti.warehouse.connection import WarehouseConnection, open_warehouse, sql_literal
from momenti.warehouse.feeds import Feed, register
from momenti.warehouse.lock import WAREHOUSE_LOCK
from momenti.warehouse.sync import Dimensions, ensure_schema

BATCH_SEQ = 200_000  # results per read: bounds memory on a full rebuild

# The store side: results changed since `since`, joined to their item's context (portable SQL: SQLite, PG).
CHANGED_SQL = """
SELECT t.kind, t.item_id, t.question_id, q.key AS question, r.external_id, r.customer_key AS customer_id,
       r.touchpoint_id, r.submitted_at AS ts, r.channel, 'survey' AS source, t.language, t.masked_text,
       t.pii_kinds, t.sentiment, t.sentiment_score, t.sentiment_confidence, t.sentiment_source, t.topics,
       t.aspects, t.keywords, t.analyzer_version, t.seq
FROM text_results t JOIN responses r ON r.id = t.item_id JOIN questions q ON q.id = t.question_id
WHERE t.kind = 'answer' AND t.seq > {lo} AND t.seq <= {hi}
UNION ALL
SELECT t.kind, t.item_id, t.question_id, NULL AS question, f.external_id, f.customer_key AS customer_id,
       f.touchpoint_id, f.created_at AS ts, f.source AS channel, f.source, t.language, t.masked_text,
       t.pii_kinds, t.sentiment, t.sentiment_score, t.sentiment_confidence, t.sentiment_source, t.topics,
       t.aspects, t.keywords, t.analyzer_version, t.seq
FROM text_results t JOIN feedback f ON f.id = t.item_id
WHERE t.kind = 'feedback' AND t.seq > {lo} AND t.seq <= {hi}
"""

SHAPE_RESULTS = """
SELECT CASE WHEN c.kind = 'answer' THEN 'answer:' || CAST(c.item_id AS VARCHAR) || ':'
            || CAST(c.question_id AS VARCHAR) ELSE 'feedback:' || CAST(c.item_id AS VARCHAR) END AS item_key,
       CAST(c.kind AS VARCHAR) AS kind, CAST(c.item_id AS BIGINT) AS item_id, CAST(c.question AS VARCHAR) AS question,
       CAST(c.external_id AS VARCHAR) AS external_id, CAST(c.customer_id AS VARCHAR) AS customer_id,
       _tp.touchpoint, CAST(c.ts AS TIMESTAMP) AS ts, CAST(c.channel AS VARCHAR) AS channel,
       CAST(c.source AS VARCHAR) AS source, CAST(c.language AS VARCHAR) AS language,
       CAST(c.masked_text AS VARCHAR) AS masked_text, CAST(c.pii_kinds AS VARCHAR) AS pii_kinds,
       CAST(c.sentiment AS VARCHAR) AS sentiment, CAST(c.sentiment_score AS DOUBLE) AS sentiment_score,
       CAST(c.sentiment_confidence AS DOUBLE) AS sentiment_confidence,
       CAST(c.sentiment_source AS VARCHAR) AS sentiment_source, CAST(c.topics AS VARCHAR) AS topics,
       CAST(coalesce(json_array_length(CAST(c.topics AS VARCHAR)), 0) AS BIGINT) AS n_topics,
       CAST(c.keywords AS VARCHAR) AS keywords, CAST(c.analyzer_version AS VARCHAR) AS analyzer_version,
       CAST(c.seq AS BIGINT) AS seq, CAST(c.aspects AS VARCHAR) AS aspects
FROM changed c LEFT JOIN _tp ON _tp.touchpoint_id = c.touchpoint_id
"""

# One row per item x topic; the topic's sentiment is its aspect sentiment when the engine found one for it
# (the mean score over its mentions), else the whole comment's.
SHAPE_TOPICS = """
WITH t AS (
    SELECT r.*, unnest(from_json(r.topics, '["VARCHAR"]')) AS topic FROM shaped r WHERE r.n_topics > 0
), a AS (
    SELECT item_key, x.topic, avg(x.score) AS score, mode(x.sentiment) AS sentiment
    FROM (SELECT item_key, unnest(from_json(aspects, '[{"topic":"VARCHAR","sentiment":"VARCHAR","score":"DOUBLE"}]'))
          AS x FROM shaped WHERE aspects IS NOT NULL AND aspects <> '[]')
    GROUP BY ALL
)
SELECT t.item_key, t.kind, t.topic, coalesce(a.sentiment, t.sentiment) AS sentiment,
       coalesce(a.score, t.sentiment_score) AS score, t.sentiment AS item_sentiment, t.customer_id, t.touchpoint,
       t.ts, t.channel, t.source, t.language, t.seq
FROM t LEFT JOIN a ON a.item_key = t.item_key AND a.topic = t.topic
"""


def _max_seq(wh: WarehouseConnection) -> int:
    value = wh.table("text_results").seq.max().execute()
    return int(value) if value is not None and value == value else 0


def shape(changed: pa.Table, touchpoints: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Store rows (CHANGED_SQL) -> (text_results rows, text_topics rows) for the warehouse."""
    con = scratch()
    try:
        con.register("changed", changed)
        con.register("_tp", touchpoints.select(["touchpoint_id", "touchpoint"]))
        shaped = con.execute(SHAPE_RESULTS).to_arrow_table()
        con.register("shaped", shaped)
        topics = con.execute(SHAPE_TOPICS).to_arrow_table()
    finally:
        con.close()
    return shaped.drop_columns(["aspects"]), topics


def _delete_items(wh: WarehouseConnection, keys: pa.Array | pa.ChunkedArray, everything: bool) -> None:
    for name in ("text_results", "text_topics"):
        if everything:
            wh.delete_rows(name)
        else:
            wh.delete_keys(name, "item_key", keys)


# Warehouse copies of the analysed items' text := their masked text (DuckDB: `_masked` is the shaped batch).
MASK_DUCKDB = (
    """UPDATE feedback SET text = m.masked_text FROM _masked m
       WHERE m.kind = 'feedback' AND feedback.id = m.item_id AND feedback.text IS DISTINCT FROM m.masked_text""",
    """UPDATE answers SET value_text = m.masked_text FROM _masked m
       WHERE m.kind = 'answer' AND answers.response_id = m.item_id AND answers.question = m.question
         AND answers.value_text IS DISTINCT FROM m.masked_text""",
)
# PostgreSQL: the batch as arrays (parameters, no quoting of customer text), a chunk per statement.
MASK_POSTGRES = {
    "feedback": """UPDATE "feedback" AS f SET text = v.t FROM unnest(%s::bigint[], %s::text[]) AS v(id, t)
        WHERE f.id = v.id AND f.text IS DISTINCT FROM v.t""",
    "answer": """UPDATE "answers" AS a SET value_text = v.t
        FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, q, t)
        WHERE a.response_id = v.id AND a.question = v.q AND a.value_text IS DISTINCT FROM v.t""",
}
MASK_CHUNK = 10_000


def _literal_update(r: dict) -> str:
    if r["kind"] == "feedback":
        return f'UPDATE "feedback" SET text = {sql_literal(r["masked_text"])} WHERE id = {int(r["item_id"])}'
    return (f'UPDATE "answers" SET value_text = {sql_literal(r["masked_text"])} '
            f'WHERE response_id = {int(r["item_id"])} AND question = {sql_literal(r["question"])}')


def mask_copies(wh: WarehouseConnection, results: pa.Table) -> None:
    """Replace the warehouse's copies of these items' text (shaped `text_results` rows) with their masked
    text, by key: feedback by id, answers by (response_id, question)."""
    batch = results.select(["kind", "item_id", "question", "masked_text"])
    if wh.is_duckdb:
        wh.duck.register("_masked", batch)
        try:
            for statement in MASK_DUCKDB:
                wh.duck.execute(statement)
        finally:
            wh.duck.unregister("_masked")
        return
    if wh.spark is not None:  # no UPDATE: each table written again with the masked text in (if any changes)
        for kind, table, keys, column in (("feedback", "feedback", {"id": "item_id"}, "text"),
                                          ("answer", "answers", {"response_id": "item_id", "question": "question"},
                                           "value_text")):
            mine = batch.filter(pc.equal(batch["kind"], kind))
            if mine.num_rows:
                values = pa.table({**{k: mine[v] for k, v in keys.items()}, "value": mine["masked_text"]})
                wh.spark.update_from(table, list(keys), column, values)
        return
    rows = batch.to_pylist()
    if wh.ibis.name != "postgres":  # another Ibis backend (untested): one literal statement per item
        for r in rows:
            wh.sql(_literal_update(r))
        return
    for kind in ("feedback", "answer"):
        mine = [r for r in rows if r["kind"] == kind]
        for i in range(0, len(mine), MASK_CHUNK):
            chunk = mine[i:i + MASK_CHUNK]
            params = [[r["item_id"] for r in chunk]]
            if kind == "answer":
                params.append([r["question"] for r in chunk])
            params.append([r["masked_text"] for r in chunk])
            wh.ibis.raw_sql(MASK_POSTGRES[kind], params=params).close()


def sync_text(wh: WarehouseConnection, store: RawConnection, touchpoints: pa.Table) -> int:
    """Bring the warehouse's text tables up to date with the store; returns the number of items (re)written.
    `touchpoints`: the sync's touchpoint dimension (touchpoint_id -> touchpoint)."""
    since = _max_seq(wh)
    top = int(store.scalar("SELECT coalesce(max(seq), 0) FROM text_results") or 0)
    written = 0
    lo = since
    while lo < top:
        hi = min(top, lo + BATCH_SEQ)
        changed = store.fetch_arrow(CHANGED_SQL.format(lo=lo, hi=hi))
        if changed.num_rows:
            results, topics = shape(changed, touchpoints)
            with wh.transaction():
                # A warehouse without any text row yet (new or rebuilt) starts empty and needs no per-item
                # delete: each item has one row in the store, so it comes in one batch only.
                if since == 0:
                    if lo == 0:
                        _delete_items(wh, results["item_key"], everything=True)
                else:
                    _delete_items(wh, results["item_key"].combine_chunks(), everything=False)
                mask_copies(wh, results)
                wh.insert("text_results", results)
                wh.insert("text_topics", topics)
            written += results.num_rows
        lo = hi
    return written


def sync(connect: Callable[[], RawConnection], warehouse_url: str) -> tuple[int, bool]:
    """Only the text step of a warehouse sync (after `text_analyze`, the rest is already up to date): much
    cheaper than a full sync. Returns (items written, whether the warehouse schema had to be rebuilt: then the
    caller runs a full sync)."""
    with WAREHOUSE_LOCK, connect() as store, open_warehouse(warehouse_url) as wh:
        if ensure_schema(wh):
            return 0, True
        return sync_text(wh, store, Dimensions.read(store).touchpoints), False


# Kept up to date by every warehouse sync.
register(Feed('text', lambda c: sync_text(c.wh, c.store, c.touchpoints), order=30, counts=True))
