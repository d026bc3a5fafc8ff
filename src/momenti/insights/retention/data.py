"""Retention data, prepared in the warehouse (Ibis): one row per customer with duration, event, group, covariates.

Definitions (docs/retention.md):

- **start**: the relationship's start (`outcomes.start_date`, else the customer's `first_seen`: imported, else
  the first response or event seen).
- **stop**: the churn date (`end_date`) of a churned customer; for an active one its `end_date` when given
  (observed until then), else `as_of` (default: the latest time in the data: outcomes, responses, events).
  A churn after `as_of` is censored at `as_of`.
- **event** = 1 when churned at or before `as_of`, else 0 (right-censored).
- **observed_from**: when observation began (default: the first response or event in the data). The warehouse
  only knows customers who were still there then; customers who stopped before it are left out.
- **clock** `observation` (default): days from max(start, observed_from) to stop; everyone enters at 0.
  **clock** `tenure`: days from start to stop, and a relationship that started before observed_from enters the
  risk set at that tenure (`entry`, delayed entry / left truncation), not at 0. Tenure curves need enough
  customers observed from their first days; the observation clock always has a full risk set at 0.
- Answers count only up to the customer's stop: what happens after churn cannot explain it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from momenti.core.errors import InputError
from momenti.insights.drivers.data import RATING_PREFIX
from momenti.insights.loyalty.battery import LOYALTY_SEGMENT, SEGMENTS
from momenti.insights.scores.segments import DERIVED, first_seen
from momenti.warehouse.connection import WarehouseConnection

DAY_S = 86_400.0
NPS_CATEGORY = "nps_category"
NPS_ORDER = ("detractor", "passive", "promoter")
LOYALTY_ORDER = SEGMENTS
RELATIONSHIP = "relationship-survey"  # default touchpoint of the relationship NPS
SCORE_KINDS = ("nps", "csat", "ces")  # transactional scores that describe the touchpoint they were asked at
BAD_AT = 10.0 / 3.0  # an experience is bad when its answer is in the bottom third of its scale (0-10 rescaled)
# ... or when a case step at the touchpoint ended like this in the event log (the customer's need was not met).
BAD_OUTCOMES = ("unresolved", "rejected", "abandoned", "declined")
_COVARIATE = re.compile(r"^(bad|score):([A-Za-z0-9_.\-]+)$")


@dataclass(frozen=True)
class Covariate:
    """`bad:<touchpoint>` (1 when any answer about the touchpoint is in the bottom third of its scale or an event
    of a case at the touchpoint has a BAD_OUTCOMES outcome, else 0),
    `score:<touchpoint>` (the customer's mean answer about it, rescaled to 0-10; customers without one are left
    out of the model) or a numeric question key (the customer's mean answer)."""

    name: str
    kind: str  # bad | score | question
    target: str  # touchpoint key or question key

    @property
    def column(self) -> str:
        return re.sub(r"[^A-Za-z0-9_]", "_", self.name)


def parse_covariates(items: Sequence[str] | str | None) -> list[Covariate]:
    if isinstance(items, str):
        items = [i.strip() for i in items.split(",") if i.strip()]
    out = []
    for item in dict.fromkeys(items or []):
        m = _COVARIATE.match(item)
        out.append(Covariate(item, m[1], m[2]) if m else Covariate(item, "question", item))
    if not out:
        raise InputError("give at least one covariate: bad:<touchpoint>, score:<touchpoint> or a question key")
    return out


def check_by(by: str) -> None:
    if by in (NPS_CATEGORY, LOYALTY_SEGMENT):
        return
    if by.startswith("segment:") and len(by) > len("segment:"):
        if by.split(":", 1)[1] in DERIVED:
            raise InputError(f"{by} is derived per moment, not per customer: group retention by an imported "
                             "customer attribute, nps_category or loyalty_segment")
        return
    raise InputError(f"unknown grouping {by!r}; use {NPS_CATEGORY}, {LOYALTY_SEGMENT} or segment:<attribute>")


def _latest(wh: WarehouseConnection) -> list[ibis.Scalar]:
    o = wh.table("outcomes")
    parts = [o.end_date.max(), o.start_date.max()]
    names = wh.tables()
    if "responses" in names:
        parts.append(wh.table("responses").submitted_at.max())
    if "events" in names:
        parts.append(wh.table("events").timestamp.max())
    return parts


def _scalar(expr: ibis.Scalar) -> dt.datetime | None:
    value = expr.execute()
    if value is None or value != value:  # None or NaT
        return None
    return pd.Timestamp(value).tz_localize(None).to_pydatetime() if pd.Timestamp(value).tzinfo else \
        pd.Timestamp(value).to_pydatetime()


def observation(wh: WarehouseConnection, as_of: dt.date | dt.datetime | None,
                observed_from: dt.date | dt.datetime | str | None) -> tuple[dt.datetime, dt.datetime | None]:
    """The observation window: (as_of, observed_from), defaults read from the data."""
    if int(wh.table("outcomes").count().execute()) == 0:
        raise InputError("no customer outcomes in the warehouse: import them first (momenti import outcomes FILE)")
    if as_of is None:
        found = [v for v in (_scalar(p) for p in _latest(wh)) if v is not None]
        end = max(found)
    else:
        end = _as_datetime(as_of)
    start: dt.datetime | None
    if observed_from == "auto":
        names = wh.tables()
        firsts = [wh.table(t)[c].min() for t, c in (("responses", "submitted_at"), ("events", "timestamp"))
                  if t in names]
        found = [v for v in (_scalar(p) for p in firsts) if v is not None]
        start = min(found) if found else None
    elif observed_from in (None, "none"):
        start = None
    else:
        start = _as_datetime(observed_from)  # type: ignore[arg-type]
    if start is not None and start >= end:
        raise InputError(f"observation starts ({start:%Y-%m-%d}) after it ends ({end:%Y-%m-%d})")
    return end, start


def _as_datetime(value: dt.date | dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise InputError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else \
            value.astimezone(dt.UTC).replace(tzinfo=None)
    return dt.datetime(value.year, value.month, value.day)


def _days(a: ibis.TimestampValue, b: ibis.TimestampValue) -> ibis.FloatingValue:
    # An epoch difference: the same arithmetic on every engine (interval types differ between them).
    return (b.epoch_seconds() - a.epoch_seconds()).cast("float64") / DAY_S


CLOCKS = ("observation", "tenure")


def spells(wh: WarehouseConnection, as_of: dt.datetime, observed_from: dt.datetime | None,
           clock: str = "observation") -> ibis.Table:
    """customer_id, start, stop, origin (time 0 of the clock), event, duration (days), entry (days): one row per
    customer with an outcome."""
    o = wh.table("outcomes")
    fs = first_seen(wh).rename(_fs_customer="customer_id")
    j = o.left_join(fs, o.customer_id == fs._fs_customer)
    end = ibis.literal(as_of, type="timestamp")
    start = ibis.coalesce(j.start_date, j.first_seen)
    stop = ibis.least(ibis.coalesce(j.end_date, end), end)
    event = ((j.status == "churned") & (j.end_date <= end)).ifelse(1, 0)
    t = j.select("customer_id", start=start, stop=stop, event=event)
    if clock not in CLOCKS:
        raise InputError(f"unknown clock {clock!r}; choose one of: {', '.join(CLOCKS)}")
    if observed_from is None:
        t = t.mutate(origin=t.start, entry=ibis.literal(0.0))
    else:
        begin = ibis.literal(observed_from, type="timestamp")
        t = t.filter(t.stop >= begin)
        if clock == "tenure":
            t = t.mutate(origin=t.start, entry=ibis.greatest(_days(t.start, begin), ibis.literal(0.0)))
        else:
            t = t.mutate(origin=ibis.greatest(t.start, begin), entry=ibis.literal(0.0))
    t = t.mutate(duration=_days(t.origin, t.stop))
    t = t.filter(t.start.notnull())
    # A relationship must be at risk for some time after it entered (a zero-length one only from tenure 0).
    return t.filter((t.duration > t.entry) | ((t.entry == 0) & (t.duration >= 0)))


def _answers_before_stop(wh: WarehouseConnection, s: ibis.Table) -> ibis.Table:
    a = wh.table("answers")
    a = a.filter(a.value_num.notnull() & a.customer_id.notnull())
    stops = s.select(_sc=s.customer_id, _stop=s.stop)
    j = a.join(stops, a.customer_id == stops._sc)
    return j.filter(j.submitted_at <= j._stop).drop("_sc", "_stop")


def _nps_groups(wh: WarehouseConnection, s: ibis.Table, nps_touchpoint: str | None) -> ibis.Table:
    a = _answers_before_stop(wh, s)
    a = a.filter(a.question == "nps")
    if nps_touchpoint not in (None, "all"):
        a = a.filter(a.touchpoint == nps_touchpoint)
    per = a.group_by("customer_id").aggregate(_mean=a.value_num.mean())
    cat = ibis.cases((per._mean >= 9, "promoter"), (per._mean <= 6, "detractor"), else_="passive")
    return per.select(_gc=per.customer_id, group=cat)


def _loyalty_groups(wh: WarehouseConnection, s: ibis.Table) -> ibis.Table:
    from momenti.insights.loyalty import (
        battery as loyalty,  # the battery's definition of the segments, kept in one place
    )

    r = loyalty.responses(wh, loyalty.Battery.make(), loyalty.Scope())
    stops = s.select(_sc=s.customer_id, _stop=s.stop)
    r = r.join(stops, r.customer_id == stops._sc)
    r = loyalty.latest_per_customer(r.filter(r.ts <= r._stop))
    return r.select(_gc=r.customer_id, group=r.loyalty_segment)


def _attribute_groups(wh: WarehouseConnection, attr: str) -> ibis.Table:
    ca = wh.table("customer_attributes")
    ca = ca.filter(ca.attr == attr)
    return ca.select(_gc=ca.customer_id, group=ca.value)


def _scales(wh: WarehouseConnection) -> ibis.Table:
    """question, lo, hi: the declared scale, else the range observed in the answers."""
    q = wh.table("questions")
    a = wh.table("answers")
    seen = a.filter(a.value_num.notnull()).group_by("question").aggregate(_lo=a.value_num.min(),
                                                                          _hi=a.value_num.max())
    j = q.left_join(seen, q.question == seen.question)
    return j.select(_q=j.question, kind=j.kind, lo=ibis.coalesce(j.scale_min, j._lo),
                    hi=ibis.coalesce(j.scale_max, j._hi))


def _covariates(wh: WarehouseConnection, s: ibis.Table, covs: list[Covariate]) -> ibis.Table:
    """_cc (customer) plus one column per covariate, aggregated in one pass over the customers' answers; a `bad`
    covariate's column is the time of the customer's first bad experience there (null: none before stop)."""
    a = _answers_before_stop(wh, s)
    sc = _scales(wh)
    a = a.join(sc, a.question == sc._q)
    span = (a.hi - a.lo).nullif(0)
    a = a.mutate(_norm=(a.value_num - a.lo) * 10.0 / span)
    aggs = {}
    for c in covs:
        if c.kind == "question":
            aggs[c.column] = (a.question == c.target).ifelse(a.value_num, ibis.null()).mean()
            continue
        about = (a.question == RATING_PREFIX + c.target.replace("-", "_")) | (
            (a.touchpoint == c.target) & a.kind.isin(SCORE_KINDS) & ~a.question.startswith(RATING_PREFIX))
        if c.kind == "score":
            aggs[c.column] = about.ifelse(a._norm, ibis.null()).mean()
        else:
            aggs[c.column] = (about & (a._norm <= BAD_AT)).ifelse(a.submitted_at, ibis.null()).min()
    out = a.group_by(_cc=a.customer_id).aggregate(**aggs)
    bad = [c for c in covs if c.kind == "bad"]
    if bad and "events" in wh.tables():
        # Bad outcomes in the event log: most bad moments get no survey answer. A case counts from its first
        # event (the customer may ask to leave before a mishandled complaint is even closed).
        e = wh.table("events")
        case = ibis.coalesce(e.case_id, e.external_id)
        flags = {f"_e_{c.column}": ((e.touchpoint == c.target) & e.outcome.isin(BAD_OUTCOMES)).ifelse(1, 0).max()
                 for c in bad}  # per case: did it go badly at the touchpoint
        cases = e.filter(e.customer_id.notnull()).group_by(_ec=e.customer_id, _case=case).aggregate(
            _start=e.timestamp.min(), **flags)
        stops = s.select(_sc=s.customer_id, _stop=s.stop)
        cases = cases.join(stops, cases._ec == stops._sc)
        cases = cases.filter(cases._start <= cases._stop)
        ev = cases.group_by("_ec").aggregate(
            **{k: (cases[k] == 1).ifelse(cases._start, ibis.null()).min() for k in flags})
        j = out.outer_join(ev, out._cc == ev._ec)
        keep = {c.column: j[c.column] for c in covs if c.kind != "bad"}
        first = {c.column: ibis.least(j[c.column], j[f"_e_{c.column}"]) for c in bad}
        # least() of a null and a time is null on some engines: take whichever exists.
        keep.update({k: ibis.coalesce(v, j[k], j[f"_e_{k}"]) for k, v in first.items()})
        out = j.select(_cc=ibis.coalesce(j._cc, j._ec), **keep)
    return out


def check_covariates(wh: WarehouseConnection, covs: list[Covariate]) -> None:
    q = wh.table("questions").to_pandas()
    numeric = set(q.loc[q["kind"] != "text", "question"])
    tps = set(wh.table("touchpoints").touchpoint.to_pandas())
    for c in covs:
        if c.kind == "question" and c.target not in numeric:
            raise InputError(f"unknown covariate {c.name!r}: write bad:<touchpoint>, score:<touchpoint> or a "
                             f"numeric question key ({', '.join(sorted(numeric)) or 'none imported'})")
        if c.kind != "question" and c.target not in tps:
            raise InputError(f"covariate {c.name!r}: unknown touchpoint {c.target!r}")


def customer_frame(wh: WarehouseConnection, *, by: str | None = None, covariates: list[Covariate] | None = None,
                   as_of: dt.date | dt.datetime | None = None,
                   observed_from: dt.date | dt.datetime | str | None = "auto",
                   nps_touchpoint: str | None = RELATIONSHIP, clock: str = "observation") -> pd.DataFrame:
    """One row per customer: customer_id, duration, entry, event, then `group` (with `by`) and one column per
    covariate (`bad` ones also `<column>_at`: days on the clock when it switched on). `attrs` carries as_of,
    observed_from and clock."""
    end, begin = observation(wh, as_of, observed_from)
    s = spells(wh, end, begin, clock)
    t = s
    if by is not None:
        check_by(by)
        if by == NPS_CATEGORY:
            g = _nps_groups(wh, s, nps_touchpoint)
        elif by == LOYALTY_SEGMENT:
            g = _loyalty_groups(wh, s)
        else:
            g = _attribute_groups(wh, by.split(":", 1)[1])
        t = t.join(g, t.customer_id == g._gc).drop("_gc")  # customers without a group are left out
    if covariates:
        check_covariates(wh, covariates)
        cv = _covariates(wh, s, covariates)
        t = t.left_join(cv, t.customer_id == cv._cc).drop("_cc")
        # A bad experience: the flag, and when it switched on (days on the clock, 0 if before the origin).
        # (greatest() skips nulls on DuckDB and PostgreSQL: a customer without one must stay null.)
        on = {f"{c.column}_at": t[c.column].notnull().ifelse(
            ibis.greatest(_days(t.origin, t[c.column]), ibis.literal(0.0)), ibis.null("float64"))
              for c in covariates if c.kind == "bad"}
        t = t.mutate(**on)
        t = t.mutate(**{c.column: t[c.column].notnull().ifelse(1, 0) for c in covariates if c.kind == "bad"})
    df = t.drop("start", "stop", "origin").order_by("customer_id").to_pandas()
    if by is not None and df.empty:
        raise InputError(f"no customer with an outcome has a value for {by} (in the observation window)")
    for col in ("duration", "entry"):
        df[col] = pd.to_numeric(df[col]).astype("float64")
    df["event"] = pd.to_numeric(df["event"]).astype("int64")
    for col in [c.column for c in covariates or []] + [f"{c.column}_at" for c in covariates or [] if c.kind == "bad"]:
        df[col] = pd.to_numeric(df[col]).astype("float64")
    df.attrs.update(as_of=end, observed_from=begin, clock=clock)
    return df.reset_index(drop=True)
