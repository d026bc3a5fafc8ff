"""Contact facts: one warehouse row per contact with the start of the customer's next same-reason contact.

Repeat contacts from raw events need a group-by over every event (contacts per case) and a window LEAD over
the contacts on each question: measured on 1 M events about as slow as pandas. Materialised once, a repeat /
FCR question for any window N, group and filter is a plain scan-and-group-by over contacts (a quarter of the
events or fewer): `next_ts <= ts + N days`.

Maintenance is incremental by event id, like the journey facts: events appended since the last refresh (the
watermark in `_meta`) name the (customer, reason) pairs they touch; those pairs' contacts are deleted and rebuilt
from `events` (a late event can change a contact's start and any neighbour's next contact, but only within its
own customer and reason), so the table always equals a computation from scratch (a test checks it). A warehouse
rebuilt from the store loses the watermark with `_meta`, and the next refresh starts over.

`refresh` runs before a question reads the facts when they are stale; calling it from the warehouse sync (as
the journey facts are) would move that cost out of the first question after an import.
"""

from __future__ import annotations

import ibis
import pyarrow as pa

from momenti.warehouse.connection import WarehouseConnection

TABLE = "contact_facts"
WATERMARK_KEY = "contact_facts_upto"  # in _meta: the largest events.id already materialised
SCHEMA = ibis.schema({
    "customer_id": "string", "contact": "string", "reason": "string", "ts": "timestamp", "first_id": "int64",
    "channel": "string", "touchpoint": "string", "agent": "string", "handling_s": "float64", "timed": "int64",
    "next_ts": "timestamp",
})


def build(wh: WarehouseConnection, events: ibis.Table | None = None) -> ibis.Table:
    """The facts of the contacts in `events` (default: the whole log), in SCHEMA's column order."""
    from momenti.analysis.contact import contact_cases

    c = contact_cases(wh, ("channel", "touchpoint", "agent"), handling=True, events=events)
    w = ibis.window(group_by=[c.customer_id, c.reason], order_by=[c.ts, c.first_id])
    c = c.mutate(next_ts=c.ts.lead().over(w), timed=c.timed.cast("int64"))
    return c.select(*SCHEMA.names)


def _watermark(wh: WarehouseConnection) -> int | None:
    meta = wh.table("_meta")
    rows = meta.filter(meta.key == WATERMARK_KEY).value.to_pyarrow().to_pylist()
    return int(rows[0]) if rows else None


def _top(wh: WarehouseConnection) -> int:
    value = wh.table("events").id.max().execute()
    return int(value) if value is not None and value == value else 0


def fresh(wh: WarehouseConnection) -> bool:
    """True when every warehouse event is materialised (one small query: it runs before every question)."""
    meta = wh.table("_meta")
    row = meta.filter(meta.key == WATERMARK_KEY).select(
        upto=meta.value.cast("int64"), top=wh.table("events").id.max().as_scalar()).to_pyarrow().to_pylist()
    return bool(row) and (row[0]["top"] is None or row[0]["upto"] >= row[0]["top"])


def refresh(wh: WarehouseConnection) -> bool:
    """Bring the facts up to date with the warehouse's events; False when they already were."""
    from momenti.warehouse.sync import WAREHOUSE_LOCK  # syncs and refreshes in one process take turns

    with WAREHOUSE_LOCK:
        if TABLE not in wh.tables():
            wh.ibis.create_table(TABLE, schema=SCHEMA)
            upto = None
        else:
            upto = _watermark(wh)
        top = _top(wh)
        if upto is not None and top <= upto:
            return False
        ev = wh.table("events")
        with wh.transaction():
            if upto is None:  # first build, or the warehouse was rebuilt: start over
                wh.sql(f'DELETE FROM "{TABLE}"')
                source = None
            else:
                touched = (f'SELECT customer_id, reason FROM "events" WHERE id > {upto} '
                           'AND reason IS NOT NULL AND customer_id IS NOT NULL')
                wh.sql(f'DELETE FROM "{TABLE}" WHERE (customer_id, reason) IN ({touched})')
                new = ev.filter((ev.id > upto) & ev.reason.notnull() & ev.customer_id.notnull())
                pairs = new.select("customer_id", "reason").distinct()
                source = ev.semi_join(pairs, ["customer_id", "reason"])
            wh.ibis.insert(TABLE, build(wh, source))
            wh.sql(f"DELETE FROM \"_meta\" WHERE key = '{WATERMARK_KEY}'")
            wh.insert("_meta", pa.table({"key": [WATERMARK_KEY], "value": [str(top)]}))
        return True


def table(wh: WarehouseConnection) -> ibis.Table:
    """The facts, refreshed first when events arrived since the last refresh."""
    if not fresh(wh):
        refresh(wh)
    return wh.table(TABLE)
