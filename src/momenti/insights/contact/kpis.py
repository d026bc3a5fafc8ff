"""Contact-centre KPIs on the interaction log, computed in the warehouse: repeat contacts, first-contact
resolution (FCR) and handling time. Channel switching and complaint rate live in `contact_channels.py`.

Definitions (docs/contact-centre.md has the long form):
- A **contact** is a case with a non-null `reason`, one per (customer, case, reason), timed at its first event;
  an event with a reason but no `case_id` is a contact of its own. Every event of a contact case carries the
  reason, so counting events would count one call five times: contacts are counted per case.
  Its channel, touchpoint and agent are those of its first event (the first non-null touchpoint and agent).
  Ties in time are broken by event id, the same stable rule as the process-mining core.
- A contact is **repeated** when the same customer has another contact with the same reason, in any channel,
  within N days after it (the next one in (time, event id) order starts at most N days later).
- **Right-censoring**: a contact younger than N days before the end of the log (its latest event) cannot be
  known to be unrepeated yet, so it is counted in `censored`, not in `n`. Hence
  FCR = 1 - repeats / n over contacts at least N days old.
- Filters and groups apply to the contact being judged; its follow-ups are looked for in the whole log (a phone
  contact followed by a chat about the same reason is a repeat of the phone contact, and `--to` does not hide
  the follow-ups that came after it).
Everything is one Ibis expression per question (grouped aggregation, window LEAD), the same on DuckDB and
PostgreSQL; numpy only finishes the aggregated counts into rates and intervals. Repeat contacts, FCR and
handling time per contact read the materialised contact facts (`contact_facts.py`: one row per contact with
its next same-reason start), which makes them a plain group-by; `source="raw"` computes the same from events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import pandas as pd

from momenti.core.args import as_date, as_list, parse_filters
from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.contact import facts as contact_facts
from momenti.insights.contact.cases import contact_cases, contact_key, first_event_key  # noqa: F401 - re-exported
from momenti.insights.scores.query import PERIODS, add_dimensions
from momenti.insights.scores.segments import column_name
from momenti.warehouse.connection import WarehouseConnection

CONTACT_DIMENSIONS = ("reason", "channel", "agent", "touchpoint")
EVENT_DIMENSIONS = (*CONTACT_DIMENSIONS, "activity")
SEGMENT = "segment:"


@dataclass
class ContactQuery:
    """One contact-centre question: its groups, period, date window (on the contact's start) and filters."""

    by: list[str] = field(default_factory=list)
    period: str | None = None
    start: dt.date | None = None  # inclusive
    end: dt.date | None = None  # inclusive
    filters: dict[str, list[str]] = field(default_factory=dict)
    days: int = 7

    @classmethod
    def build(cls, allowed: Sequence[str], by: Sequence[str] | str | None = None, period: str | None = None,
              start: dt.date | str | None = None, end: dt.date | str | None = None,
              filters: Mapping[str, Sequence[str] | str] | None = None, days: int = 7) -> ContactQuery:
        by_list = as_list(by)
        if "period" in by_list:  # `by=["reason", "period"]` is accepted as a spelling of period=...
            by_list.remove("period")
            period = period or "month"
        q = cls(by_list, period, as_date(start), as_date(end),
                parse_filters(filters), int(days))
        q.validate(allowed)
        return q

    def validate(self, allowed: Sequence[str]) -> None:
        if self.period is not None and self.period not in PERIODS:
            raise InputError(f"unknown period {self.period!r}; choose one of: {', '.join(PERIODS)}")
        for dim in [*self.by, *self.filters]:
            if dim not in allowed and not (dim.startswith(SEGMENT) and len(dim) > len(SEGMENT)):
                raise InputError(f"unknown dimension {dim!r}; use {', '.join(allowed)}, period or "
                                 "segment:<attribute>")
        for dim, values in self.filters.items():
            if not values:
                raise InputError(f"filter {dim!r} has no value")
        if len(set(self.by)) != len(self.by):
            raise InputError("a dimension is repeated in 'by'")
        if self.days < 1:
            raise InputError(f"days must be at least 1 (got {self.days})")
        if self.start and self.end and self.start > self.end:
            raise InputError(f"--from {self.start} is after --to {self.end}")

    @property
    def dims(self) -> set[str]:
        return {*self.by, *self.filters}

    @property
    def keys(self) -> list[str]:
        return [*(column_name(d) for d in self.by), *(["period"] if self.period else [])]


# --- building blocks (Ibis) ---------------------------------------------------------------------------------


def log_end(wh: WarehouseConnection) -> ibis.Expr:
    """The end of observation: the latest event of the whole log (not of the filtered slice)."""
    return wh.table("events").timestamp.max().as_scalar()


def censor_cutoff(wh: WarehouseConnection, days: int) -> ibis.Expr:
    return log_end(wh) - ibis.interval(days=days)


def attach(wh: WarehouseConnection, t: ibis.Table, q: ContactQuery, ts: str = "ts") -> ibis.Table:
    """Segments joined, filters and the date window applied, `period` added: ready to group by `q.keys`."""
    # Segments imported or derived (segment:lifecycle/tenure at the contact's time), as every metric reads them.
    t = add_dimensions(wh, t, q.by, q.filters, ts=ts)
    if q.start is not None:
        t = t.filter(t[ts] >= ibis.literal(dt.datetime.combine(q.start, dt.time())))
    if q.end is not None:
        t = t.filter(t[ts] < ibis.literal(dt.datetime.combine(q.end + dt.timedelta(days=1), dt.time())))
    if q.period:
        t = t.mutate(period=t[ts].truncate(PERIODS[q.period]).cast("date"))
    return t


def grouped(t: ibis.Table, keys: Sequence[str], **aggs: ibis.Expr) -> ibis.Table:
    if keys:
        return t.group_by(list(keys)).aggregate(**aggs).order_by(list(keys))
    return t.aggregate(**aggs)


def fetch(expr: ibis.Table, keys: Sequence[str]) -> pd.DataFrame:
    """Run an aggregated expression; numbers as numbers, periods as YYYY-MM-DD, rows sorted by their keys."""
    df = expr.to_pandas()
    for col in df.columns:
        if col not in keys:
            df[col] = pd.to_numeric(df[col])
    if "period" in df:
        df["period"] = pd.to_datetime(df["period"]).dt.strftime("%Y-%m-%d")
    if keys and not df.empty:
        df = df.sort_values(list(keys), kind="stable", na_position="last")
    return df.reset_index(drop=True)


def proportion_frame(df: pd.DataFrame, keys: Sequence[str], n: str, k: str, rate: str, confidence: float,
                     min_n: int, tail: Sequence[str] = ()) -> pd.DataFrame:
    """keys, n, k, rate (%), ci_low, ci_high (Wilson), *tail, small_sample."""
    cols = [*keys, n, k, rate, "ci_low", "ci_high", *tail, "small_sample"]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c not in keys else "object") for c in cols})
    df = df.copy()
    for c in (n, k, *(c for c in tail if c in df)):
        df[c] = df[c].fillna(0).astype("int64")
    est, lo, hi = stats.wilson(df[k], df[n], confidence)
    df[rate], df["ci_low"], df["ci_high"] = est, lo, hi
    df["small_sample"] = df[n] < min_n
    return df[cols]


# --- repeat contacts and FCR --------------------------------------------------------------------------------


def repeat_contacts_expr(wh: WarehouseConnection, q: ContactQuery, source: str = "facts") -> ibis.Table:
    """Per group: n (contacts old enough to judge), repeats, censored. `source="facts"` reads the materialised
    contact facts (refreshed first if stale); `"raw"` computes the same from the events (window LEAD)."""
    if source == "facts":
        c = contact_facts.table(wh)
    elif source == "raw":
        c = contact_cases(wh, q.dims)
        w = ibis.window(group_by=[c.customer_id, c.reason], order_by=[c.ts, c.first_id])
        c = c.mutate(next_ts=c.ts.lead().over(w))
    else:
        raise ValueError(f"source must be 'facts' or 'raw', not {source!r}")
    c = c.mutate(eligible=c.ts <= censor_cutoff(wh, q.days),
                 repeated=c.next_ts.notnull() & (c.next_ts <= c.ts + ibis.interval(days=q.days)))
    c = attach(wh, c, q)
    return grouped(c, q.keys, n=c.eligible.ifelse(1, 0).sum(),
                   repeats=(c.eligible & c.repeated).ifelse(1, 0).sum(),
                   censored=c.eligible.ifelse(0, 1).sum())


def repeat_contacts(wh: WarehouseConnection, q: ContactQuery, confidence: float = 0.95, min_n: int = 30,
                    source: str = "facts") -> pd.DataFrame:
    df = fetch(repeat_contacts_expr(wh, q, source), q.keys)
    return proportion_frame(df, q.keys, "n", "repeats", "repeat_rate", confidence, min_n, tail=("censored",))


def fcr(wh: WarehouseConnection, q: ContactQuery, confidence: float = 0.95, min_n: int = 30,
        source: str = "facts") -> pd.DataFrame:
    """First-contact resolution = 100 - repeat rate, its interval the mirror of the repeat rate's."""
    df = repeat_contacts(wh, q, confidence, min_n, source)
    rate, lo, hi = df.pop("repeat_rate"), df.pop("ci_low"), df.pop("ci_high")
    at = df.columns.get_loc("repeats") + 1
    df.insert(at, "fcr", 100.0 - rate)
    df.insert(at + 1, "ci_low", 100.0 - hi)
    df.insert(at + 2, "ci_high", 100.0 - lo)
    return df


# --- handling time ------------------------------------------------------------------------------------------


def handling_time_expr(wh: WarehouseConnection, q: ContactQuery, per: str = "event") -> ibis.Table:
    if per == "event":
        e = wh.table("events")
        t = e.filter(e.duration_s.notnull()).select(ts=e.timestamp, customer_id=e.customer_id, reason=e.reason,
                                                    channel=e.channel, agent=e.agent, touchpoint=e.touchpoint,
                                                    activity=e.activity, x=e.duration_s)
    elif per == "contact":
        c = contact_facts.table(wh)
        t = c.filter(c.timed > 0).mutate(x=c.handling_s)
    else:
        raise InputError(f"per must be 'event' or 'contact' (got {per!r})")
    t = attach(wh, t, q)
    return grouped(t, q.keys, n=t.x.count(), total=t.x.sum(), total_sq=(t.x * t.x).sum(),
                   median_s=t.x.median(), p90_s=t.x.quantile(0.9))


def handling_time(wh: WarehouseConnection, q: ContactQuery, per: str = "event", confidence: float = 0.95,
                  min_n: int = 30) -> pd.DataFrame:
    """n, mean_s with a t-interval, sd_s, median_s, p90_s (seconds) per group."""
    cols = [*q.keys, "n", "mean_s", "ci_low", "ci_high", "sd_s", "median_s", "p90_s", "small_sample"]
    df = fetch(handling_time_expr(wh, q, per), q.keys)
    df = df[df["n"].fillna(0) > 0].reset_index(drop=True)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c not in q.keys else "object") for c in cols})
    df["n"] = df["n"].astype("int64")
    mean, lo, hi, sd = stats.mean_t(df.n, df.total, df.total_sq, confidence)
    df["mean_s"], df["ci_low"], df["ci_high"], df["sd_s"] = mean, lo, hi, sd
    df["small_sample"] = df["n"] < min_n
    return df[cols]
