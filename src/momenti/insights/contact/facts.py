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

The warehouse sync calls `refresh` after appending events; a question also refreshes stale facts before
reading them (e.g. a warehouse synced by an older version).
"""

from __future__ import annotations

import ibis

from momenti.warehouse import meta
from momenti.warehouse.connection import WarehouseConnection
from momenti.warehouse.feeds import Feed, register
from momenti.warehouse.lock import WAREHOUSE_LOCK
from momenti.warehouse.schema import TABLES

TABLE = "contact_facts"
WATERMARK_KEY = "contact_facts_upto"  # in _meta: the largest events.id already materialised
SCHEMA = TABLES[TABLE]


def build(wh: WarehouseConnection, events: ibis.Table | None = None) -> ibis.Table:
    """The facts of the contacts in `events` (default: the whole log), in SCHEMA's column order."""
    from momenti.insights.contact.cases import contact_cases

    c = contact_cases(wh, ("channel", "touchpoint", "agent"), handling=True, events=events)
    w = ibis.window(group_by=[c.customer_id, c.reason], order_by=[c.ts, c.first_id])
    c = c.mutate(next_ts=c.ts.lead().over(w), timed=c.timed.cast("int64"))
    return c.select(*SCHEMA.names)


def _marks(wh: WarehouseConnection) -> tuple[int, int | None]:
    """The largest event id and the facts' watermark (None: never built, or the warehouse was rebuilt)."""
    top, (upto,) = meta.marks(wh, WATERMARK_KEY)
    return top, int(upto) if upto is not None else None


def fresh(wh: WarehouseConnection) -> bool:
    """True when every warehouse event is materialised (one small query: it runs before every question)."""
    top, upto = _marks(wh)
    return upto is not None and upto >= top


def refresh(wh: WarehouseConnection) -> bool:
    """Bring the facts up to date with the warehouse's events; False when they already were."""
    with WAREHOUSE_LOCK:
        top, upto = _marks(wh)
        if upto is not None and top <= upto:
            return False
        ev = wh.table("events")
        with wh.transaction():
            if upto is None:  # first build, or the warehouse was rebuilt: start over
                wh.delete_rows(TABLE)
                source = None
            else:
                touched = (f'SELECT customer_id, reason FROM "events" WHERE id > {upto} '
                           'AND reason IS NOT NULL AND customer_id IS NOT NULL')
                wh.delete_in(TABLE, ["customer_id", "reason"], touched)
                new = ev.filter((ev.id > upto) & ev.reason.notnull() & ev.customer_id.notnull())
                pairs = new.select("customer_id", "reason").distinct()
                source = ev.semi_join(pairs, ["customer_id", "reason"])
            wh.ibis.insert(TABLE, build(wh, source))
            meta.set_meta(wh, WATERMARK_KEY, top)
        return True


def table(wh: WarehouseConnection) -> ibis.Table:
    """The facts, refreshed first when events arrived since the last refresh; on an external, read-only warehouse
    (nothing kept there) the same expression computed on the fly from its events."""
    if wh.read_only:
        return build(wh)
    if not fresh(wh):
        refresh(wh)
    return wh.table(TABLE)


# Kept up to date by every warehouse sync.
register(Feed('contact_facts', lambda c: refresh(c.wh), order=20))
