"""Journey x loyalty: what customers said after living a journey.

Each NPS answer is joined to the journey its customer lived last before answering: the journey of the same
customer whose last event is at or before the answer's time and no more than `within` (default 30 days)
before it; the latest such journey wins (ties: the larger case id). Answers with no such journey are left out
(`matched` in the result says how many were used). Then:

- by="variant": NPS per variant (adjusted-Wald interval, n, small_sample), most answered variants first;
- by="activity": for each activity, the detractor rate among answers whose journey contained it (Wilson
  interval) and its *lift*: that rate divided by the detractor rate among answers whose journey did not
  contain it (a risk ratio, with the Katz log interval; 0.5 is added to every cell when one is empty). A lift
  whose interval lies above 1 marks a step that precedes detractors more often than chance would.

Association, not causation: a step that comes with detractors may only travel with the real cause.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.paths.mining import Journeys, execute, parse_duration, table
from momenti.insights.scores.scores import METRICS, score_groups

BY = ("variant", "activity")


def matched_answers(j: Journeys, question: str = "nps", within_s: float = 30 * 86400) -> ibis.Table:
    """response_id, score, case_id, variant: each answer with the journey lived last before it."""
    a = table("answers")
    a = a.filter((a.question == question) & a.value_num.notnull() & a.customer_id.notnull())
    a = a.select("response_id", "customer_id", "submitted_at", score=a.value_num)
    c = j.cases.select("case_id", c_customer=j.cases.customer_id, end_ts=j.cases.end_ts, variant=j.cases.variant)
    lo = a.submitted_at - ibis.interval(seconds=int(within_s))
    m = a.join(c, [a.customer_id == c.c_customer, c.end_ts <= a.submitted_at, c.end_ts >= lo])
    w = ibis.window(group_by=m.response_id, order_by=[ibis.desc(m.end_ts), ibis.desc(m.case_id)])
    m = m.mutate(_rn=ibis.row_number().over(w))
    return m.filter(m._rn == 0).select("response_id", "score", "case_id", "variant")


def journey_loyalty(j: Journeys, by: str = "variant", question: str = "nps", within: object = "30d",
                    top: int | None = 20, confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    if by not in BY:
        raise InputError(f"journey loyalty by {by!r}: choose variant or activity")
    within_s = parse_duration(within, "within") or 30 * 86400  # type: ignore[arg-type]
    m = matched_answers(j, question, within_s)
    if by == "variant":
        return _by_variant(j, m, top, confidence, min_n)
    return _by_activity(j, m, top, confidence, min_n)


def _by_variant(j: Journeys, m: ibis.Table, top: int | None, confidence: float, min_n: int) -> pd.DataFrame:
    """NPS per variant, scored and finished as every NPS table is (metrics.scores)."""
    t = m.mutate(n=ibis.literal(1, "int64"))
    df = execute(j.wh, t.group_by("variant").aggregate(n=t.n.sum(), **METRICS["nps"].counts(t)))
    cols = ["variant", "n", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high", "share_pct",
            "small_sample"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    for c in ("n", "promoters", "passives", "detractors"):
        df[c] = pd.to_numeric(df[c])
    df = score_groups(df, ["variant"], "nps", confidence, min_n)
    df["share_pct"] = 100.0 * df["n"] / df["n"].sum()
    df = df.sort_values(["n", "variant"], ascending=[False, True], kind="stable", ignore_index=True)
    if top:
        df = df.head(top).copy()
    df["variant"] = j.names.variants(df["variant"].tolist())
    return df[cols]


def _katz(a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray, confidence: float) -> tuple:
    """Risk ratio (a/n1)/(c/n2) with the Katz log interval; Haldane's 0.5 where a cell is empty."""
    zero = (a == 0) | (c == 0) | (n1 - a == 0) | (n2 - c == 0)
    a, c = np.where(zero, a + 0.5, a), np.where(zero, c + 0.5, c)
    n1, n2 = np.where(zero, n1 + 1.0, n1), np.where(zero, n2 + 1.0, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (a / n1) / (c / n2)
        se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
        z = stats.z_value(confidence)
        return rr, rr * np.exp(-z * se), rr * np.exp(z * se)


def _by_activity(j: Journeys, m: ibis.Table, top: int | None, confidence: float, min_n: int) -> pd.DataFrame:
    cols = ["activity", "n", "detractors", "detractor_pct", "ci_low", "ci_high", "lift", "lift_low", "lift_high",
            "small_sample"]
    totals = execute(j.wh, m.aggregate(n=m.count(), detractors=(m.score <= 6).sum()))
    total_n = int(totals["n"].iloc[0] or 0)
    total_d = int(totals["detractors"].iloc[0] or 0) if total_n else 0
    if not total_n:
        return pd.DataFrame(columns=cols)
    acts = j.steps.select("case_id", "act").distinct()
    x = m.join(acts, "case_id")
    df = execute(j.wh, x.group_by(activity=x.act).aggregate(n=x.count(), detractors=(x.score <= 6).sum()))
    df["activity"] = j.names.acts(df["activity"])
    n1 = pd.to_numeric(df["n"]).to_numpy(dtype=float)
    a = pd.to_numeric(df["detractors"]).to_numpy(dtype=float)
    df["n"], df["detractors"] = n1.astype("int64"), a.astype("int64")
    df["detractor_pct"], df["ci_low"], df["ci_high"] = stats.wilson(a, n1, confidence)
    n2, c = total_n - n1, total_d - a
    rr, lo, hi = _katz(a, n1, c, n2, confidence)
    none_without = n2 == 0  # every matched journey has the step: nothing to compare with
    df["lift"] = np.where(none_without, np.nan, rr)
    df["lift_low"] = np.where(none_without, np.nan, lo)
    df["lift_high"] = np.where(none_without, np.nan, hi)
    df["small_sample"] = (n1 < min_n) | (n2 < min_n)
    df = df.sort_values(["lift", "n"], ascending=[False, False], na_position="last", kind="stable",
                        ignore_index=True)
    df.attrs["matched"] = total_n
    return (df.head(top) if top else df)[cols].reset_index(drop=True)
