"""Change of a metric between two periods, per group: delta, its interval, p-value, significance."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import replace

import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.insights.scores.query import MetricQuery, fetch_counts, finish
from momenti.insights.scores.scores import METRICS
from momenti.insights.scores.segments import column_name
from momenti.warehouse.connection import WarehouseConnection


def parse_period(spec: str) -> tuple[dt.date, dt.date, str]:
    """'2025-03', '2025-Q1', '2025-W05', '2025', '2025-03-01' or 'A..B' -> (start, end inclusive, label)."""
    s = spec.strip()
    try:
        if ".." in s:
            a, b = s.split("..", 1)
            if ".." in b:  # "A..B..C": one range only (each ".." recursed: a long chain was a RecursionError)
                raise InputError(f"period {spec!r}: one range A..B, with a single '..'")
            return parse_period(a)[0], parse_period(b)[1], s
        if re.fullmatch(r"\d{4}", s):
            y = int(s)
            return dt.date(y, 1, 1), dt.date(y, 12, 31), s
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", s):
            y, qn = int(m[1]), int(m[2])
            start = dt.date(y, 3 * qn - 2, 1)
            # The last day of the quarter's last month (the day before the next quarter failed for 9999-Q4).
            end = dt.date(y, 3 * qn, calendar.monthrange(y, 3 * qn)[1])
            return start, end, s.upper()
        if m := re.fullmatch(r"(\d{4})-[Ww](\d{1,2})", s):
            start = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return start, start + dt.timedelta(days=6), s.upper()
        if m := re.fullmatch(r"(\d{4})-(\d{2})", s):
            y, mo = int(m[1]), int(m[2])
            start = dt.date(y, mo, 1)  # first: a month 13 is a ValueError before monthrange sees it
            return start, dt.date(y, mo, calendar.monthrange(y, mo)[1]), s  # (9999-12 failed on year 10000)
        day = dt.date.fromisoformat(s)
        return day, day, s
    except (ValueError, OverflowError) as exc:  # OverflowError: the Sunday of 9999-W52 is past 9999-12-31
        raise InputError(f"period {spec!r}: {exc}") from exc
    raise InputError(f"period {spec!r}: use 2025, 2025-Q1, 2025-03, 2025-W05, 2025-03-01 or A..B")


def _diff_columns(metric: str, a: pd.DataFrame, b: pd.DataFrame, confidence: float) -> dict[str, np.ndarray]:
    m = METRICS[metric]
    args = [a[c].to_numpy(float) for c in m.compare_inputs] + [b[c].to_numpy(float) for c in m.compare_inputs]
    delta, lo, hi, _, p = m.compare(*args, confidence=confidence)
    return {"delta": delta, "ci_low": lo, "ci_high": hi, "p_value": p}


def compare(
    wh: WarehouseConnection,
    q: MetricQuery,
    periods: tuple[str, str] | None = None,
    confidence: float = 0.95,
    min_n: int = 30,
) -> pd.DataFrame:
    keys = [column_name(k) for k in q.by]
    if periods:
        (sa, ea, la), (sb, eb, lb) = parse_period(periods[0]), parse_period(periods[1])
        ca = fetch_counts(wh, replace(q, period=None, start=sa, end=ea))
        cb = fetch_counts(wh, replace(q, period=None, start=sb, end=eb))
        ca["period_a"], cb["period_b"] = la, lb
        if keys:
            both = ca.merge(cb, on=keys, suffixes=("_a", "_b"))
        else:
            both = ca.add_suffix("_a").join(cb.add_suffix("_b"), how="inner")
            both = both.rename(columns={"period_a_a": "period_a", "period_b_b": "period_b"})
    else:
        if not q.period:
            raise InputError("compare needs a period (each against the one before) or two periods A and B")
        counts = fetch_counts(wh, q).sort_values([*keys, "period"])
        prev = counts.groupby(keys, sort=False).shift(1) if keys else counts.shift(1)
        both = counts.join(prev.add_suffix("_a")).rename(columns={"period": "period_b"})
        both = both.rename(columns={c: c + "_b" for c in counts.columns if c not in keys and c != "period"})
        both = both.dropna(subset=["n_a"]).reset_index(drop=True)
    if both.empty:
        return pd.DataFrame(columns=[*keys, "period_a", "period_b", "n_a", "n_b", f"{q.metric}_a",
                                     f"{q.metric}_b", "delta", "ci_low", "ci_high", "p_value", "significant",
                                     "small_sample"])
    side = {}
    for s in ("a", "b"):
        part = both[[c for c in both.columns if c.endswith(f"_{s}") and c != f"period_{s}"]]
        part = part.rename(columns=lambda c, s=s: c[: -len(s) - 1])
        side[s] = part
    diff = _diff_columns(q.metric, side["a"], side["b"], confidence)
    score = {s: finish(replace(q, by=[], period=None), side[s].reset_index(drop=True), confidence, min_n)
             for s in ("a", "b")}
    out = both[[*keys, "period_a", "period_b"]].reset_index(drop=True).copy()
    out["n_a"] = side["a"]["n"].astype("int64").to_numpy()
    out["n_b"] = side["b"]["n"].astype("int64").to_numpy()
    out[f"{q.metric}_a"] = score["a"][q.metric].to_numpy()
    out[f"{q.metric}_b"] = score["b"][q.metric].to_numpy()
    for k, v in diff.items():
        out[k] = v
    out["significant"] = out["p_value"] < (1 - confidence)
    out["small_sample"] = (out["n_a"] < min_n) | (out["n_b"] < min_n)
    return out
