"""Funnels over journeys: an ordered list of steps, how many journeys reach each, and how fast.

A step is an activity name or a touchpoint key (an event matches when either equals the step). A journey
*enters* the funnel at its first event matching step 1. Then, by `mode`:

- "eventually": step k is reached when an event matching it comes *after* the event that reached step k-1,
  whatever happens in between; the first such event counts (so times run from first occurrence to first
  following occurrence).
- "directly": step k must be the very next event after the one that reached step k-1 (steps 1..k form a
  contiguous run in the journey). Each occurrence of step 1 starts a run; a journey counts with its longest
  run (the earliest one among equals).

Per step: n (journeys that reached it), conversion from the previous step and overall from step 1 (percent,
Wilson intervals), dropoff (journeys lost since the previous step), median seconds from the previous step,
and small_sample when the base of the conversion is below MOMENTI_MIN_N. `by` splits by customer segment
(`segment:<attr>`), `period` by when the journey entered the funnel (day/week/month/quarter/year).
All the work per journey is done in the warehouse; Python reshapes one row per group.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd

from momenti.core.args import as_list
from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.paths.mining import Journeys, execute, table
from momenti.insights.scores.query import PERIODS

MODES = ("eventually", "directly")


def _matches(j: Journeys, step: str) -> ibis.Table:
    s = j.steps
    hit = s.act.isin(j.names.encode([step])) | (s.touchpoint == step)
    return s.filter(hit).select("case_id", "pos", "ts")


def _eventually(j: Journeys, steps: list[str]) -> ibis.Table:
    """One row per journey that entered: case_id, t1..tk (null when step k was not reached)."""
    m1 = _matches(j, steps[0])
    r = m1.group_by("case_id").aggregate(p1=m1.pos.min(), t1=m1.ts.min())
    for k in range(2, len(steps) + 1):
        m = _matches(j, steps[k - 1])
        prev = r.filter(r[f"p{k - 1}"].notnull()).select("case_id", _p=r[f"p{k - 1}"])
        nxt = m.join(prev, "case_id").filter(lambda t: t.pos > t._p)
        nxt = nxt.group_by("case_id").aggregate(**{f"p{k}": nxt.pos.min(), f"t{k}": nxt.ts.min()})
        r = r.left_join(nxt, "case_id").drop("case_id_right")
    return r


def _directly(j: Journeys, steps: list[str]) -> ibis.Table:
    m1 = _matches(j, steps[0])
    r = m1.select("case_id", start=m1.pos, p1=m1.pos, t1=m1.ts)
    chain = r
    for k in range(2, len(steps) + 1):
        m = _matches(j, steps[k - 1])
        prev = chain.filter(chain[f"p{k - 1}"].notnull()).select("case_id", "start", _p=chain[f"p{k - 1}"])
        nxt = m.join(prev, [m.case_id == prev.case_id, m.pos == prev._p + 1]).select(
            prev.case_id, prev.start, **{f"p{k}": m.pos, f"t{k}": m.ts})
        chain = chain.left_join(nxt, ["case_id", "start"]).drop("case_id_right", "start_right")
    # (PostgreSQL cannot cast a boolean to an integer: hence ifelse)
    level = sum((ibis.ifelse(chain[f"p{k}"].notnull(), 1, 0) for k in range(1, len(steps) + 1)), ibis.literal(0))
    chain = chain.mutate(_level=level)
    w = ibis.window(group_by=chain.case_id, order_by=[ibis.desc(chain._level), chain.start])
    chain = chain.mutate(_rn=ibis.row_number().over(w))
    return chain.filter(chain._rn == 0).drop("_level", "_rn", "start")


def funnel(j: Journeys, steps: Sequence[str] | str, mode: str = "eventually",
           by: Sequence[str] | str | None = None, period: str | None = None, confidence: float = 0.95,
           min_n: int = 30) -> pd.DataFrame:
    names = as_list(steps)
    if len(names) < 2:
        raise InputError("a funnel needs at least two steps, e.g. steps=['login app', 'bonifico']")
    if mode not in MODES:
        raise InputError(f"mode {mode!r}: choose eventually or directly")
    if period is not None and period not in PERIODS:
        raise InputError(f"unknown period {period!r}; choose one of: {', '.join(PERIODS)}")
    dims = as_list(by)
    for d in dims:
        if not (d.startswith("segment:") and len(d) > len("segment:")):
            raise InputError(f"funnel by {d!r}: use segment:<attribute> (and period= for time)")
    r = _eventually(j, names) if mode == "eventually" else _directly(j, names)
    keys: dict[str, ibis.Value] = {}
    if dims:
        r = r.join(j.cases.select("case_id", "customer_id"), "case_id")
        for d in dims:
            ca = table("customer_attributes")
            col = d.replace(":", "_")
            seg = ca.filter(ca.attr == d.split(":", 1)[1]).select(customer_id=ca.customer_id, **{col: ca.value})
            r = r.left_join(seg, "customer_id").drop("customer_id_right")
    for d in dims:
        keys[d.replace(":", "_")] = r[d.replace(":", "_")]
    if period:
        keys["period"] = r.t1.truncate(PERIODS[period]).cast("date")
    aggs: dict[str, ibis.Value] = {"n1": r.count()}
    for k in range(2, len(names) + 1):
        delta = r[f"t{k}"].delta(r[f"t{k - 1}"], unit="microsecond").cast("float64") / 1e6
        aggs[f"n{k}"] = r[f"t{k}"].count()
        aggs[f"m{k}"] = delta.median()
    agg = r.group_by(**keys).aggregate(**aggs) if keys else r.aggregate(**aggs)
    wide = execute(j.wh, agg)
    return _long(wide, list(keys), names, confidence, min_n)


def _long(wide: pd.DataFrame, keys: list[str], names: list[str], confidence: float, min_n: int) -> pd.DataFrame:
    cols = [*keys, "step", "step_name", "n", "conversion_pct", "conversion_low", "conversion_high", "overall_pct",
            "overall_low", "overall_high", "dropoff", "median_s", "small_sample"]
    wide = wide[wide["n1"].fillna(0) > 0]
    if wide.empty:
        return pd.DataFrame(columns=cols)
    if "period" in wide:
        wide = wide.assign(period=pd.to_datetime(wide["period"]).dt.strftime("%Y-%m-%d"))
    parts = []
    n1 = wide["n1"].to_numpy(dtype=float)
    prev = n1
    for k, name in enumerate(names, start=1):
        n = wide[f"n{k}"].to_numpy(dtype=float) if k > 1 else n1
        part = wide[keys].copy()
        part["step"], part["step_name"], part["n"] = k, name, n.astype("int64")
        if k == 1:
            conv = (np.full(len(n), 100.0), np.full(len(n), np.nan), np.full(len(n), np.nan))
            overall = conv
            part["median_s"] = np.nan
        else:
            conv = stats.wilson(n, prev, confidence)
            overall = stats.wilson(n, n1, confidence)
            part["median_s"] = pd.to_numeric(wide[f"m{k}"], errors="coerce").to_numpy(dtype=float)
        part["conversion_pct"], part["conversion_low"], part["conversion_high"] = (np.asarray(x) for x in conv)
        part["overall_pct"], part["overall_low"], part["overall_high"] = (np.asarray(x) for x in overall)
        part["dropoff"] = (prev - n).astype("int64")
        part["small_sample"] = prev < min_n
        parts.append(part)
        prev = n
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values([*keys, "step"], kind="stable").reset_index(drop=True)[cols]
