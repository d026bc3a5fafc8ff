"""The score metrics, one definition each: which counts to aggregate (Ibis) and how to finish (numpy).

Every score metric is a function of how many answers gave each score, so the same definition runs on the
daily rollup (counts already summed) and on raw answers (a count of one per row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from momenti.engines import stats
from momenti.ingest.specs import SCORE_SCALES


@dataclass(frozen=True)
class ScoreMetric:
    key: str
    scale: tuple[int, int]
    # counts(t) -> named Ibis aggregations over a relation with columns `score` and `n`
    counts: Callable[[ibis.Table], dict[str, ibis.Expr]]
    # finish(df, confidence) adds the score and its interval columns to the aggregated frame
    finish: Callable[[pd.DataFrame, float], pd.DataFrame]
    # comparison of two aggregated rows: column groups taken from each side
    compare_inputs: tuple[str, ...]
    compare: Callable[..., tuple]


def _when(cond: ibis.Expr, t: ibis.Table) -> ibis.Expr:
    return cond.ifelse(t.n, 0).sum()


def _nps_counts(t: ibis.Table) -> dict[str, ibis.Expr]:
    return {"promoters": _when(t.score >= 9, t), "passives": _when((t.score >= 7) & (t.score <= 8), t),
            "detractors": _when(t.score <= 6, t)}


def _nps_finish(df: pd.DataFrame, confidence: float) -> pd.DataFrame:
    est, lo, hi = stats.nps(df.promoters, df.passives, df.detractors, confidence)
    return df.assign(nps=est, ci_low=lo, ci_high=hi)


def _csat_counts(t: ibis.Table) -> dict[str, ibis.Expr]:
    return {"satisfied": _when(t.score >= 4, t), "total": (t.score * t.n).sum()}


def _csat_finish(df: pd.DataFrame, confidence: float) -> pd.DataFrame:
    est, lo, hi = stats.wilson(df.satisfied, df.n, confidence)
    return df.assign(csat=est, ci_low=lo, ci_high=hi, mean_score=df.total / df.n.astype(float)).drop(columns="total")


def _ces_counts(t: ibis.Table) -> dict[str, ibis.Expr]:
    return {"easy": _when(t.score >= 5, t), "total": (t.score * t.n).sum(),
            "total_sq": (t.score * t.score * t.n).sum()}


def _ces_finish(df: pd.DataFrame, confidence: float) -> pd.DataFrame:
    mean, lo, hi, sd = stats.mean_t(df.n, df.total, df.total_sq, confidence)
    easy, elo, ehi = stats.wilson(df.easy, df.n, confidence)
    return df.assign(ces=mean, ci_low=lo, ci_high=hi, sd=sd, easy_pct=easy, easy_ci_low=elo,
                     easy_ci_high=ehi).drop(columns=["total", "total_sq"])


METRICS: dict[str, ScoreMetric] = {
    "nps": ScoreMetric("nps", SCORE_SCALES["nps"], _nps_counts, _nps_finish, ("promoters", "passives", "detractors"),
                       stats.nps_diff),
    "csat": ScoreMetric("csat", SCORE_SCALES["csat"], _csat_counts, _csat_finish, ("satisfied", "n"),
                        stats.proportion_diff),
    "ces": ScoreMetric("ces", SCORE_SCALES["ces"], _ces_counts, _ces_finish, ("n", "total", "total_sq"),
                       stats.mean_diff),
}


def score_groups(counts: pd.DataFrame, keys: list[str], metric: str, confidence: float,
                 min_n: int) -> pd.DataFrame:
    """Aggregated counts per group (keys, n, the metric's counts) -> the metric's rows: score, interval, counts
    as integers, small_sample, columns in the usual order. Every score table is finished here."""
    if counts.empty:
        return empty_like(keys, metric)
    df = METRICS[metric].finish(counts.copy(), confidence)
    df["n"] = df["n"].astype("int64")
    for c in ("promoters", "passives", "detractors", "satisfied", "easy"):
        if c in df:
            df[c] = df[c].astype("int64")
    df["small_sample"] = df["n"] < min_n
    return order_columns(df, keys, metric)


def order_columns(df: pd.DataFrame, keys: list[str], metric: str) -> pd.DataFrame:
    """Keys first, then n and counts, then the score, its interval and the flag."""
    head = [*keys, "n"]
    tail = [metric, "ci_low", "ci_high", "small_sample"]
    middle = [c for c in df.columns if c not in head and c not in tail]
    return df[[*head, *middle, *tail]]


def empty_like(keys: list[str], metric: str) -> pd.DataFrame:
    cols = {k: pd.Series(dtype=object) for k in keys}
    cols.update({"n": pd.Series(dtype="int64"), metric: pd.Series(dtype=float),
                 "ci_low": pd.Series(dtype=float), "ci_high": pd.Series(dtype=float),
                 "small_sample": pd.Series(dtype=bool)})
    return pd.DataFrame(cols)


__all__ = ["METRICS", "ScoreMetric", "order_columns", "empty_like", "np"]
