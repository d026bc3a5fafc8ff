"""Contact experience x loyalty: the NPS (or CSAT/CES) of customers by what their contacts were like before
they answered.

Each answer is matched with the customer's contacts that started in the `window_days` before it:
- by="repeats": how many of those contacts were repeated (same customer, same reason, again within `days`:
  the definition of momenti.insights.contact.kpis), bucketed 0 / 1 / 2+;
- by="switches": how many channel switches the customer made in that window: an interaction (any case,
  with or without a reason) followed within `days` by the customer's next interaction in another channel,
  bucketed 0 / 1 / 2+.
Each bucket is scored with the metric's own definition and interval (NPS: adjusted Wald), with n and the
small-sample flag. A contact that started less than `days` before the answer may still be repeated later;
it is counted as it stood when the customer answered (what the customer had lived), not censored.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from momenti.core.errors import InputError
from momenti.insights.contact import facts as contact_facts
from momenti.insights.contact.cases import contact_cases
from momenti.insights.scores.scores import METRICS, score_groups
from momenti.warehouse.connection import WarehouseConnection

BY = ("repeats", "switches")
BUCKETS = ("0", "1", "2+")


def _answers(wh: WarehouseConnection, question: str, touchpoint: str | list[str] | None, start: dt.date | None,
             end: dt.date | None) -> ibis.Table:
    a = wh.table("answers")
    a = a.filter((a.question == question) & a.value_num.notnull() & a.customer_id.notnull())
    if touchpoint:
        a = a.filter(a.touchpoint.isin([touchpoint] if isinstance(touchpoint, str) else list(touchpoint)))
    if start is not None:
        a = a.filter(a.submitted_at >= ibis.literal(start))
    if end is not None:
        a = a.filter(a.submitted_at < ibis.literal(end + dt.timedelta(days=1)))
    return a.select("response_id", a_customer=a.customer_id, a_ts=a.submitted_at, score=a.value_num)


def _experiences(wh: WarehouseConnection, by: str, days: int) -> ibis.Table:
    """customer, ts, flag: one row per contact (repeated?) or interaction (followed by a channel switch?)."""
    horizon = ibis.interval(days=days)
    if by == "repeats":
        c = contact_facts.table(wh)
        return c.select(e_customer=c.customer_id, e_ts=c.ts,
                        flag=(c.next_ts.notnull() & (c.next_ts <= c.ts + horizon)).ifelse(1, 0))
    c = contact_cases(wh, ("channel",), with_reason=False)
    w = ibis.window(group_by=c.customer_id, order_by=[c.ts, c.first_id])
    c = c.mutate(next_ts=c.ts.lead().over(w), next_channel=c.channel.lead().over(w))
    switched = (c.next_ts.notnull() & (c.next_ts <= c.ts + horizon) & c.channel.notnull()
                & c.next_channel.notnull() & (c.next_channel != c.channel))
    # ifelse, not a cast: PostgreSQL has no boolean -> bigint cast
    return c.select(e_customer=c.customer_id, e_ts=c.ts, flag=switched.ifelse(1, 0))


def contact_loyalty(wh: WarehouseConnection, by: str = "repeats", question: str = "nps",
                    touchpoint: str | list[str] | None = None, days: int = 7, window_days: int = 365,
                    start: dt.date | None = None, end: dt.date | None = None, confidence: float = 0.95,
                    min_n: int = 30) -> pd.DataFrame:
    if by not in BY:
        raise InputError(f"contact loyalty by {by!r}: choose {' or '.join(BY)}")
    metric = METRICS.get(question)
    if metric is None:
        raise InputError(f"question {question!r}: choose one of {', '.join(METRICS)}")
    if days < 1 or window_days < 1:
        raise InputError("days and window must be at least 1")
    a = _answers(wh, question, touchpoint, start, end)
    e = _experiences(wh, by, days)
    j = a.left_join(e, (a.a_customer == e.e_customer) & (e.e_ts < a.a_ts)
                    & (e.e_ts >= a.a_ts - ibis.interval(days=window_days)))
    per = j.group_by(["response_id", "score"]).aggregate(count=j.flag.sum().coalesce(0),
                                                          contacts=j.e_ts.count())
    bucket = ibis.cases((per["count"] >= 2, BUCKETS[2]), (per["count"] == 1, BUCKETS[1]), else_=BUCKETS[0])
    t = per.mutate(**{by: bucket}, n=ibis.literal(1, "int64"))
    counts = t.group_by(by).aggregate(n=t.n.sum(), mean_contacts=t.contacts.mean(),
                                      **metric.counts(t)).to_pandas()
    if counts.empty:
        return pd.DataFrame(columns=[by, "n", question, "ci_low", "ci_high", "small_sample"])
    for col in counts.columns:
        if col != by:
            counts[col] = pd.to_numeric(counts[col])
    df = score_groups(counts, [by], question, confidence, min_n)
    return df.sort_values(by, key=lambda s: s.map(BUCKETS.index), ignore_index=True)
