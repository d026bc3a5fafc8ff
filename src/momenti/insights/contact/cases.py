"""Contacts as the KPIs count them (one row per customer, case and reason, timed at its first event), in Ibis:
shared by the KPIs (`kpis.py`, `channels.py`), the contact facts kept at sync (`facts.py`) and contact x loyalty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import ibis

from momenti.warehouse.connection import WarehouseConnection


def contact_key(e: ibis.Table) -> ibis.Expr:
    # An event without a case is a contact of its own; the prefix keeps it apart from real case ids.
    return ibis.coalesce(e.case_id, ibis.literal("~event:") + e.id.cast("string"))


def first_event_key(e: ibis.Table) -> ibis.Expr:
    # (timestamp, event id): the order of events, ties broken by id, on DuckDB and PostgreSQL alike.
    return ibis.struct({"ts": e.timestamp, "id": e.id})


def contact_cases(wh: WarehouseConnection, dims: Iterable[str] = (), *, with_reason: bool = True,
                  handling: bool = False, flags: Mapping[str, Callable[[ibis.Table], ibis.Expr]] | None = None,
                  events: ibis.Table | None = None) -> ibis.Table:
    """One row per contact: customer_id, contact, [reason], ts, first_id and the requested first-event
    attributes (channel, touchpoint, agent); `handling` adds handling_s (sum of duration_s) and timed (how many
    of its events have a duration); each of `flags` (name -> boolean over events) is true when any event of
    the contact has it.

    `with_reason=False` keeps every case (any interaction, with or without a reason), one row per case; its
    `reason` (when asked for in `dims`) is then its first non-null reason. `events`: a slice of the log.
    """
    e = wh.table("events") if events is None else events
    keep = e.customer_id.notnull()
    if with_reason:
        keep &= e.reason.notnull()
    e = e.filter(keep)
    groups: dict[str, ibis.Expr] = {"customer_id": e.customer_id, "contact": contact_key(e)}
    if with_reason:
        groups["reason"] = e.reason
    order = first_event_key(e)
    aggs: dict[str, ibis.Expr] = {"ts": e.timestamp.min(), "first_id": e.id.min()}
    wanted = set(dims)
    if "channel" in wanted:
        aggs["channel"] = e.channel.argmin(order)
    for dim in ("touchpoint", "agent", *(() if with_reason else ("reason",))):
        if dim in wanted:
            aggs[dim] = e[dim].argmin(order, where=e[dim].notnull())
    if handling:
        aggs["handling_s"] = e.duration_s.sum()
        aggs["timed"] = e.duration_s.count()
    for name, flag in (flags or {}).items():
        aggs[name] = flag(e).fill_null(False).any()
    return e.group_by(**groups).aggregate(**aggs)
