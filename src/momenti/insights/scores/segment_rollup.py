"""Score counts by a customer attribute (`segment:<attr>`), kept so that a segment cut does not join every answer
to the customers each time.

No rollup can hold every attribute in advance, and an attribute is a customer's current value (a change moves
all their past answers to the new value). So the rollup of an attribute is made the first time a score is cut
by it, from the answers joined to the attribute once, and brought up to date at each later question: the answers
that arrived since are added (answers only grow, by response id, between rebuilds); a change in the customers or
their attributes, or fewer answers than counted (an erase rebuilt the warehouse), makes it again. What it was
made from is written in `_meta` (`segment_daily:<attr>` -> answers' largest response id and count, customers'
largest seq, attribute rows), under the warehouse lock, so two questions do not add the same answers twice.

Kept on DuckDB, where it is brought up to date in one transaction, and on a local Spark session (one process by
design: `momenti serve --workers` refuses it), where there is no transaction: there the `_meta` entry is removed
before the rollup is touched and written after, so a crash in between makes the next question count again
rather than add twice. On a server warehouse (PostgreSQL), which several server processes may share, the raw
answers are joined as before: the lock here is per process.
"""

from __future__ import annotations

import ibis

from momenti.insights.scores.segments import DERIVED, check_attribute, column_name
from momenti.warehouse.connection import WarehouseConnection, sql_literal
from momenti.warehouse.lock import WAREHOUSE_LOCK
from momenti.warehouse.meta import set_meta
from momenti.warehouse.schema import TABLES

TABLE = "segment_daily"
_KEYS = "day, touchpoint, channel, language, question, score"


def rollup_attribute(by: list[str], filters: dict[str, list[str]], plain: set[str]) -> str | None:
    """The one imported attribute a question cuts or filters by, when everything else it needs is in `plain`
    (the dimensions the score rollup holds) or comes from the journey map; else None."""
    segments = {d for d in [*by, *filters] if d.startswith("segment:")}
    if len(segments) != 1:
        return None
    (dim,) = segments
    attr = dim.split(":", 1)[1]
    if attr in DERIVED or any(d not in plain and d != dim for d in [*by, *filters]):
        return None
    return attr


def segment_counts(wh: WarehouseConnection, attr: str, question: str) -> ibis.Table | None:
    """(ts, touchpoint, channel, language, segment_<attr>, score, n) for `question`, from the attribute's rollup
    brought up to date; None where the rollup is not kept (neither DuckDB nor momenti's own Spark warehouse; an
    external, read-only one keeps nothing)."""
    if wh.read_only or not (wh.is_duckdb or wh.is_spark) or TABLE not in wh.tables():
        return None
    check_attribute(wh, attr)  # an outcomes column asked for as a segment: say where it has to be imported
    with WAREHOUSE_LOCK:
        _refresh(wh, attr)
    t = wh.table(TABLE)
    t = t.filter((t.attr == attr) & (t.question == question))
    return t.select(ts=t.day, touchpoint=t.touchpoint, channel=t.channel, language=t.language,
                    **{column_name(f"segment:{attr}"): t.value}, score=t.score, n=t.n)


def _state(wh: WarehouseConnection, attr: str) -> tuple[str, int, str | None]:
    """(what the rollup would be made from now, the answers' largest response id, what it was made from)."""
    lit = sql_literal(attr)
    (top, count, cust, attrs, made), = wh.rows(
        'SELECT (SELECT coalesce(max(response_id), 0) FROM "answers"), (SELECT count(*) FROM "answers"), '
        '(SELECT coalesce(max(seq), 0) FROM "customers"), '
        f'(SELECT count(*) FROM "customer_attributes" WHERE attr = {lit}), '
        f'(SELECT max(value) FROM "_meta" WHERE key = {sql_literal(f"{TABLE}:{attr}")})')
    return f"{int(top)}:{int(count)}:{int(cust)}:{int(attrs)}", int(top), made


def _counts_sql(attr: str, since: int) -> str:
    scores = "(SELECT question FROM questions WHERE kind IN ('nps', 'csat', 'ces'))"
    return (f"SELECT {sql_literal(attr)} AS attr, s.value, CAST(a.submitted_at AS DATE) AS day, a.touchpoint, "
            f"a.channel, a.language, a.question, a.value_num AS score, count(*)::BIGINT AS n FROM answers a "
            f"LEFT JOIN (SELECT customer_id, value FROM customer_attributes WHERE attr = {sql_literal(attr)}) s "
            f"ON s.customer_id = a.customer_id WHERE a.value_num IS NOT NULL AND a.question IN {scores} "
            f"AND a.response_id > {int(since)} GROUP BY ALL")


def _refresh(wh: WarehouseConnection, attr: str) -> None:
    now, top, made = _state(wh, attr)
    if made == now:
        return
    columns = ", ".join(TABLES[TABLE].names)
    old = made.split(":") if made else None
    grown = old is not None and old[2:] == now.split(":")[2:] and int(old[0]) <= top and int(old[1]) <= int(
        now.split(":")[1])
    since = int(old[0]) if grown else 0  # type: ignore[index] - grown: only the answers since, added
    key = f"{TABLE}:{attr}"
    if not wh.is_duckdb:  # Spark: no transaction; without its _meta entry an interrupted refresh is counted again
        wh.delete_rows("_meta", f"key = {sql_literal(key)}")
        if not grown:
            wh.delete_rows(TABLE, f"attr = {sql_literal(attr)}")
        wh.insert(TABLE, wh.arrow(_counts_sql(attr, since)).select(TABLES[TABLE].names))
        set_meta(wh, key, now)
        return
    with wh.transaction():
        if not grown:  # first time, or customers changed, or answers went away: count again
            wh.duck.execute(f"DELETE FROM {TABLE} WHERE attr = {sql_literal(attr)}")
        wh.duck.execute(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM ({_counts_sql(attr, since)})")
        set_meta(wh, key, now)
