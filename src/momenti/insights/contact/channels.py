"""Channel switching and complaint rate on the interaction log, computed in the warehouse.

**Channel switching** (omnichannel consistency): an interaction is any case of the log (an app session, a call,
a chat...; an event without a case is one of its own), timed and placed in a channel by its first event. An
interaction in channel A *switches* to channel B when the same customer starts an interaction in B within N
days after it (strictly later in (time, event id) order). Interactions younger than N days before the end of
the log are censored, as for repeat contacts. With `same_reason`, only contacts (cases with a reason) count and
the later contact must have the same reason: the customer came back about the same thing through another
channel. The share is of customers by default (a customer counts once per group: switched if any of their
A interactions did), or of interactions (`unit="contacts"`).

The next interaction in each channel is a running MIN over the customer's later interactions (a window ordered
newest first, framed UNBOUNDED PRECEDING .. 1 PRECEDING, which both DuckDB and PostgreSQL compute
incrementally), one column per channel of the log: no self-join whose size grows with the square of a
customer's history.

**Complaint rate**: a complaint is a case with at least one event at a complaint touchpoint (by default every
journey touchpoint whose key contains "complaint" or "reclam", e.g. complaint-handling, billing-complaint) or
with one of the given complaint activities. `unit="contacts"`: complaint cases / contacts (cases with a reason,
plus complaint cases without one), by the contact's reason, channel, agent, touchpoint, segment and period of
its start. `unit="customers"`: customers with a complaint case starting in the group / customers with any case
starting in it (the active customers), by period and segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from momenti.core.errors import InputError
from momenti.insights.contact.kpis import (
    ContactQuery,
    attach,
    censor_cutoff,
    contact_cases,
    fetch,
    grouped,
    proportion_frame,
)
from momenti.warehouse.connection import WarehouseConnection

ANY = "*"  # to_channel: any channel other than the first one
UNITS = ("customers", "contacts")


def _channels(wh: WarehouseConnection) -> list[str]:
    e = wh.table("events")
    return sorted(e.filter(e.channel.notnull()).select("channel").distinct().to_pandas()["channel"].tolist())


def _unit(unit: str) -> str:
    if unit not in UNITS:
        raise InputError(f"unit must be one of {', '.join(UNITS)} (got {unit!r})")
    return unit


def channel_switching(wh: WarehouseConnection, q: ContactQuery, from_channel: str | None = None,
                      to_channel: str | None = None, unit: str = "customers", same_reason: bool = False,
                      confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Long table: keys..., from_channel, to_channel, n, switched, switch_rate (%), ci_low, ci_high (Wilson),
    censored, small_sample. No from/to: every pair (the matrix); to_channel="*": any other channel."""
    _unit(unit)
    channels = _channels(wh)
    targets = [to_channel] if to_channel not in (None, ANY) else channels
    if from_channel is not None and to_channel is not None and from_channel == to_channel:
        raise InputError("from_channel and to_channel are the same channel: a switch needs two channels")
    c = contact_cases(wh, {*q.dims, "channel"}, with_reason=same_reason)
    c = c.filter(c.channel.notnull())
    part = [c.customer_id, *([c.reason] if same_reason else [])]
    # Newest first, frame ending one row before the current: the running MIN is the earliest later start.
    later = ibis.window(group_by=part, order_by=[c.ts.desc(), c.first_id.desc()], rows=(None, -1))
    deadline = c.ts + ibis.interval(days=q.days)
    nxt = {f"next_{i}": (c.channel == ch).ifelse(c.ts, ibis.null("timestamp")).min().over(later)
           for i, ch in enumerate(targets)}
    c = c.mutate(eligible=c.ts <= censor_cutoff(wh, q.days), **nxt)
    flags = {f"sw_{i}": (c.channel != ch) & c[f"next_{i}"].notnull() & (c[f"next_{i}"] <= deadline)
             for i, ch in enumerate(targets)}
    if to_channel == ANY:
        any_flag = ibis.literal(False)
        for flag in flags.values():
            any_flag |= flag
        flags = {"sw_0": any_flag}
    c = c.mutate(**{k: c.eligible & v for k, v in flags.items()})
    if from_channel is not None:
        c = c.filter(c.channel == from_channel)
    if "channel" in q.keys:  # the answer is per starting channel already (from_channel)
        raise InputError("by channel: switching is already given per starting channel (from_channel); "
                         "group by another dimension or leave `by` out")
    c = attach(wh, c, q)
    keys = [*q.keys, "channel"]
    one = ibis.literal(1)
    if unit == "customers":
        # One row per customer and group first: a customer who switched once counts once.
        per = c.group_by([*keys, "customer_id"]).aggregate(
            eligible=c.eligible.any(), **{k: c[k].any() for k in flags})
        counts = grouped(per, keys, n=per.eligible.ifelse(one, 0).sum(),
                         censored=per.eligible.ifelse(0, one).sum(),
                         **{k: per[k].ifelse(one, 0).sum() for k in flags})
    else:
        counts = grouped(c, keys, n=c.eligible.ifelse(one, 0).sum(), censored=c.eligible.ifelse(0, one).sum(),
                         **{k: c[k].ifelse(one, 0).sum() for k in flags})
    df = fetch(counts, keys).rename(columns={"channel": "from_channel"})
    names = [ANY] if to_channel == ANY else targets
    keys_out = [*q.keys, "from_channel", "to_channel"]
    long = df.melt(id_vars=[*q.keys, "from_channel", "n", "censored"], value_vars=list(flags),
                   var_name="to_channel", value_name="switched") if not df.empty else df
    if not long.empty:
        long["to_channel"] = long["to_channel"].map({f"sw_{i}": ch for i, ch in enumerate(names)})
        long = long[long["from_channel"] != long["to_channel"]]
        long = long.sort_values(keys_out, kind="stable").reset_index(drop=True)
    return proportion_frame(long, keys_out, "n", "switched", "switch_rate", confidence, min_n,
                            tail=("censored",))


def switching_matrix(df: pd.DataFrame, value: str = "switch_rate") -> pd.DataFrame:
    """The long result of `channel_switching` (no grouping) as a from x to table of `value`."""
    if df.empty:
        return pd.DataFrame()
    known = {"from_channel", "to_channel", "n", "switched", "switch_rate", "ci_low", "ci_high", "censored",
             "small_sample"}
    if set(df.columns) - known:
        raise InputError("the matrix view is for results without groups or period; use the long table")
    return df.pivot(index="from_channel", columns="to_channel", values=value).rename_axis(
        index="from_channel", columns=None).reset_index()


def default_complaint_touchpoints(wh: WarehouseConnection) -> list[str]:
    tp = wh.table("touchpoints")
    key = tp.touchpoint.lower()
    found = tp.filter(key.contains("complaint") | key.contains("reclam")).select("touchpoint").to_pandas()
    return sorted(found["touchpoint"].tolist())


def complaint_rate(wh: WarehouseConnection, q: ContactQuery, unit: str = "contacts",
                   touchpoints: Sequence[str] | None = None, activities: Sequence[str] | None = None,
                   confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """keys..., n, complaints, complaint_rate (%), ci_low, ci_high (Wilson), small_sample."""
    _unit(unit)
    tps = list(touchpoints) if touchpoints else ([] if activities else default_complaint_touchpoints(wh))
    acts = list(activities or [])
    if not tps and not acts:
        raise InputError("no complaint touchpoint in the journey (no key contains 'complaint'): name the "
                         "complaint touchpoints or activities")

    def is_complaint(e: ibis.Table) -> ibis.Expr:
        cond = ibis.literal(False)
        if tps:
            cond |= e.touchpoint.isin(tps)
        if acts:
            cond |= e.activity.isin(acts)
        return cond

    if unit == "customers":
        bad = [d for d in q.dims if not d.startswith("segment:")]
        if bad:
            raise InputError(f"complaint rate per customer groups by period and segment:<attribute> only, not "
                             f"{', '.join(bad)} (a customer has many contacts); use unit=contacts")
        c = attach(wh, contact_cases(wh, (), with_reason=False, flags={"complaint": is_complaint}), q)
        per = c.group_by([*q.keys, "customer_id"]).aggregate(complaint=c.complaint.any())
        counts = grouped(per, q.keys, n=per.count(), complaints=per.complaint.ifelse(1, 0).sum())
    else:
        c = contact_cases(wh, {*q.dims, "reason"}, with_reason=False,
                          flags={"complaint": is_complaint, "has_reason": lambda e: e.reason.notnull()})
        c = attach(wh, c.filter(c.has_reason | c.complaint), q)
        counts = grouped(c, q.keys, n=c.count(), complaints=c.complaint.ifelse(1, 0).sum())
    df = fetch(counts, q.keys)
    df = df[df["n"].fillna(0) > 0].reset_index(drop=True)
    return proportion_frame(df, q.keys, "n", "complaints", "complaint_rate", confidence, min_n)
