"""The loyalty bank: does loyalty grow as a customer's positive moments accumulate?

For every answer to the loyalty question (by default `nps` on the `relationship-survey` touchpoint), count
the positive moments the customer lived before it: transactional responses (any other touchpoint) whose
satisfaction with the moment was top-box -- CSAT 4-5, or without a CSAT answer CES 5-7, or without either
NPS 9-10. Answers are grouped by that count (buckets) and scored with the metric's own definition and
interval; a straight-line trend of the score on the count (least squares from sums computed in the
warehouse, with a t-test on the slope) says whether the bank fills up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from momenti.core.args import as_list
from momenti.core.errors import InputError
from momenti.insights.scores.scores import METRICS, order_columns, score_groups
from momenti.warehouse.connection import WarehouseConnection

DEFAULT_BUCKETS = (0, 1, 2, 3, 5, 8)  # lower bounds: 0, 1, 2, 3-4, 5-7, 8+
POSITIVE = {"csat": 4, "ces": 5, "nps": 9}  # top box of each moment score, in order of preference


@dataclass
class LoyaltyBankQuery:
    outcome: str = "nps"
    outcome_touchpoint: str | None = "relationship-survey"
    buckets: tuple[int, ...] | str = DEFAULT_BUCKETS  # a str is parsed: "0,1,2,3,5,8"
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.outcome not in METRICS:
            raise InputError(f"unknown outcome {self.outcome!r}; choose one of: {', '.join(METRICS)}")
        given = self.buckets
        try:  # "0,1,2,3,5,8" (CLI, REST) or numbers (Python)
            b = tuple(int(x) for x in (as_list(given) if isinstance(given, str) else given))
        except (TypeError, ValueError):
            raise InputError(f"buckets {given!r}: give whole numbers, e.g. 0,1,2,3,5,8") from None
        if not b or b[0] != 0 or any(x >= y for x, y in zip(b, b[1:], strict=False)):
            raise InputError("buckets: increasing lower bounds starting at 0, e.g. 0,1,2,3,5,8")
        self.buckets = b

    def labels(self) -> list[str]:
        b = self.buckets
        out = []
        for i, lo in enumerate(b):
            hi = b[i + 1] - 1 if i + 1 < len(b) else None
            out.append(f"{lo}+" if hi is None else str(lo) if hi == lo else f"{lo}-{hi}")
        return out


def _moments(wh: WarehouseConnection, q: LoyaltyBankQuery) -> ibis.Table:
    """One row per transactional response: customer, time, positive (bool)."""
    a = wh.table("answers")
    a = a.filter(a.question.isin(list(POSITIVE)) & a.value_num.notnull())
    if q.outcome_touchpoint is not None:
        a = a.filter(a.touchpoint != q.outcome_touchpoint)
    per = a.group_by(["response_id", "customer_id"]).aggregate(
        ts=a.submitted_at.min(),
        **{f"top_{k}": (a.question == k).ifelse((a.value_num >= v).cast("int64"), ibis.null("int64")).max()
           for k, v in POSITIVE.items()})
    positive = ibis.coalesce(per.top_csat, per.top_ces, per.top_nps)
    return per.select(m_customer=per.customer_id, m_ts=per.ts, positive=positive)


def _outcomes(wh: WarehouseConnection, q: LoyaltyBankQuery) -> ibis.Table:
    a = wh.table("answers")
    a = a.filter((a.question == q.outcome) & a.value_num.notnull())
    if q.outcome_touchpoint is not None:
        a = a.filter(a.touchpoint == q.outcome_touchpoint)
    if q.start is not None:
        a = a.filter(a.submitted_at >= ibis.literal(q.start))
    if q.end is not None:
        a = a.filter(a.submitted_at < ibis.literal(q.end + dt.timedelta(days=1)))
    return a.select("response_id", "customer_id", ts=a.submitted_at, score=a.value_num)


def banked(wh: WarehouseConnection, q: LoyaltyBankQuery) -> ibis.Table:
    """Each loyalty answer with the number of positive moments lived before it (`x`) and its bucket."""
    o, m = _outcomes(wh, q), _moments(wh, q)
    j = o.left_join(m, (o.customer_id == m.m_customer) & (m.m_ts < o.ts))
    per = j.group_by(["response_id", "score"]).aggregate(x=j.positive.sum().coalesce(0),
                                                         moments=j.m_ts.count())
    bucket = ibis.literal(0)
    for i, lo in enumerate(q.buckets[1:], start=1):
        bucket = (per.x >= lo).ifelse(i, bucket)
    return per.mutate(bucket=bucket, n=ibis.literal(1, "int64"))


def loyalty_bank(wh: WarehouseConnection, q: LoyaltyBankQuery, confidence: float = 0.95,
                 min_n: int = 30) -> pd.DataFrame:
    t = banked(wh, q)
    metric = METRICS[q.outcome]
    counts = t.group_by("bucket").aggregate(n=t.n.sum(), mean_moments=t.x.mean(), mean_score=t.score.mean(),
                                            **metric.counts(t)).order_by("bucket").to_pandas()
    labels = q.labels()
    if counts.empty:
        return pd.DataFrame(columns=["positive_moments", "n", "small_sample"])
    for col in counts.columns:
        counts[col] = pd.to_numeric(counts[col])
    # Renamed out of the way: CSAT's finish writes its own mean_score (of the same answers).
    counts = counts.rename(columns={"mean_score": "_mean_score"})
    df = score_groups(counts, ["bucket"], q.outcome, confidence, min_n)
    df["positive_moments"] = [labels[int(b)] for b in df["bucket"]]
    df["mean_score"] = df.pop("_mean_score")
    out = order_columns(df.drop(columns=["bucket"]), ["positive_moments"], q.outcome)
    out.attrs["trend"] = trend(t, confidence)
    return out


def trend(t: ibis.Table, confidence: float = 0.95) -> dict[str, float]:
    """Least-squares slope of the loyalty score on the count of positive moments, from sums (no rows
    leave the warehouse): slope per extra positive moment, its interval, p-value, r, n."""
    from momenti.engines.stats import scipy_stats

    s = t.aggregate(n=t.n.sum(), sx=t.x.sum(), sy=t.score.sum(), sxx=(t.x * t.x).sum(),
                    syy=(t.score * t.score).sum(), sxy=(t.x * t.score).sum()).to_pandas().iloc[0]
    n, sx, sy, sxx, syy, sxy = (float(s[k] or 0) for k in ("n", "sx", "sy", "sxx", "syy", "sxy"))
    if n < 3:
        return {"n": n, "slope": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                "p_value": float("nan"), "r": float("nan")}
    vx, vy, cxy = sxx - sx * sx / n, syy - sy * sy / n, sxy - sx * sy / n
    if vx <= 0 or vy <= 0:
        return {"n": n, "slope": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                "p_value": float("nan"), "r": float("nan")}
    slope = cxy / vx
    r = cxy / np.sqrt(vx * vy)
    resid = max(vy - slope * cxy, 0.0)
    se = np.sqrt(resid / (n - 2) / vx)
    st = scipy_stats()
    tcrit = st.t.ppf(0.5 + confidence / 2, n - 2)
    p = float(2 * st.t.sf(abs(slope / se), n - 2)) if se > 0 else 0.0
    return {"n": n, "slope": slope, "ci_low": slope - tcrit * se, "ci_high": slope + tcrit * se, "p_value": p,
            "r": float(r)}
