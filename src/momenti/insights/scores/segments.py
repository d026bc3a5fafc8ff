"""Segments: customer attributes (`segment:<attr>`) and segments derived from each customer's history.

`segment:region` reads the imported attribute. Two names are derived instead, at the time of each answer or
event, from the customer's `first_seen` (imported with the customers, else the first time the warehouse saw
the customer in any response or event):

- `segment:lifecycle`: `first-time` when the moment happened less than FIRST_TIME_DAYS (365) after the
  customer's first_seen, `repeat` after that, `unknown` when nothing tells when the customer arrived;
- `segment:tenure`: how long the customer had been with the company at that moment, in bands
  (TENURE_BANDS: `<1y`, `1-3y`, `3-5y`, `5-10y`, `10y+`).

Derived per moment, not per customer: the same customer answers as first-time in their first year and as
repeat later. Their names are reserved: an imported attribute called `lifecycle` or `tenure` is shadowed.
"""

from __future__ import annotations

import ibis

from momenti.core.errors import InputError
from momenti.warehouse.connection import WarehouseConnection, sql_literal

FIRST_TIME_DAYS = 365
TENURE_BANDS: tuple[tuple[str, float], ...] = (("<1y", 1), ("1-3y", 3), ("3-5y", 5), ("5-10y", 10))
DERIVED = ("lifecycle", "tenure")
# How tables list the derived values (not alphabetically: "10y+" would come before "1-3y").
DERIVED_ORDER = {"lifecycle": ("first-time", "repeat", "unknown"),
                 "tenure": (*(label for label, _ in TENURE_BANDS), f"{TENURE_BANDS[-1][1]:g}y+", "unknown")}


def column_name(dim: str) -> str:
    """`segment:tier` -> `segment_tier` (a column name every engine takes)."""
    return dim.replace(":", "_") if dim.startswith("segment:") else dim


def first_seen(wh: WarehouseConnection) -> ibis.Table:
    """customer_id -> first_seen: imported, else the earliest response or event of the customer."""
    seen = []
    names = wh.tables()
    for table, ts in (("responses", "submitted_at"), ("events", "timestamp")):
        if table in names:
            t = wh.table(table)
            seen.append(t.select(customer_id=t.customer_id, ts=t[ts].cast("timestamp")))
    earliest = ibis.union(*seen).group_by("customer_id").aggregate(observed=lambda t: t.ts.min())
    c = wh.table("customers").select("customer_id", imported=lambda t: t.first_seen.cast("timestamp"))
    joined = earliest.outer_join(c, "customer_id")
    return joined.select(customer_id=ibis.coalesce(joined.customer_id, joined.customer_id_right),
                         first_seen=ibis.coalesce(joined.imported, joined.observed))


def _derived(attr: str, ts: ibis.TimestampValue, since: ibis.TimestampValue) -> ibis.StringValue:
    # Days as an epoch difference: the same arithmetic on every engine (interval types differ between them).
    days = (ts.epoch_seconds() - since.epoch_seconds()) / 86_400
    if attr == "lifecycle":
        return ibis.cases((since.isnull(), "unknown"), (days < FIRST_TIME_DAYS, "first-time"), else_="repeat")
    bands = [(days < years * 365.25, label) for label, years in TENURE_BANDS]
    return ibis.cases((since.isnull(), "unknown"), *bands, else_=f"{TENURE_BANDS[-1][1]:g}y+")


def add_segment(wh: WarehouseConnection, t: ibis.Table, dim: str, ts: str = "ts",
                customer: str = "customer_id") -> ibis.Table:
    """`t` with a `segment_<attr>` column for `dim` (`segment:<attr>`), read at each row's time `ts`."""
    attr = dim.split(":", 1)[1]
    name = column_name(dim)
    if attr in DERIVED:
        fs = first_seen(wh).rename(_fs_customer="customer_id", _first_seen="first_seen")
        j = t.left_join(fs, t[customer] == fs._fs_customer)
        return j.mutate(**{name: _derived(attr, j[ts].cast("timestamp"), j._first_seen)}).drop(
            "_fs_customer", "_first_seen")
    check_attribute(wh, attr)
    ca = wh.table("customer_attributes")
    seg = ca.filter(ca.attr == attr).select(_seg_customer=ca.customer_id, **{name: ca.value})
    return t.left_join(seg, t[customer] == seg._seg_customer).drop("_seg_customer")


def check_attribute(wh: WarehouseConnection, attr: str) -> None:
    """An extra column of an outcomes file is kept with the outcome, not as a customer attribute: a segment
    named after one would come back empty without a word, so say where such a column has to go."""
    if wh.rows(f'SELECT 1 FROM "customer_attributes" WHERE attr = {sql_literal(attr)} LIMIT 1'):
        return
    # LIKE on the JSON text (the same on every engine); a wildcard in the name only widens the hint's test.
    pattern = sql_literal('%"' + attr + '"%')
    if "outcomes" in wh.tables() and wh.rows(f'SELECT 1 FROM "outcomes" WHERE attributes LIKE {pattern} LIMIT 1'):
        raise InputError(f"segment:{attr}: no customer has the attribute {attr!r}; it is a column of the outcomes "
                         f"file, kept with each outcome: import it as a customer attribute with `momenti import "
                         f"customers` (a file with customer_id and {attr}) to use it in --by")
