"""Dissonance: does one bad moment spoil the whole experience? Two questions, both fitted on aggregates.

1. Per touchpoint t, on respondents who rated at least one touchpoint and had either no negative rating or
   exactly one, at t:

       y_i = α + β_t · single_negative_at_t_i + Σ_k γ_k · 1[lived_i = k] + ε_i      (k = 2..6+, 1 = reference)

   β_t is the outcome gap between customers whose only bad moment was t and customers whose moments were
   all positive (not negative), at the same number of touchpoints lived. OLS with HC1 (heteroskedasticity-
   robust) standard errors and a t-interval. Every regressor is a dummy, so the warehouse groups respondents
   into (negative touchpoint, touchpoints lived, outcome value) cells and the fit uses frequency weights:
   exactly the row-level OLS.
2. Weakest link vs average, on respondents with at least two ratings: y ~ mean rating + lived (A),
   y ~ min rating + lived (B), y ~ mean + min + lived (C). R², adjusted R², AIC and BIC for each, and the
   nested F-test of C against A: does the worst moment add to the average? Fitted from the cross-product
   matrix of [1, mean, min, lived, y], summed in the warehouse.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from momenti.core.errors import InputError
from momenti.insights.drivers import data as mm
from momenti.warehouse.connection import WarehouseConnection

LIVED_CAP = 6  # "6 or more" touchpoints lived: the few customers beyond that share one control category


def _lived(t: ibis.Table, spec: mm.DriverSpec) -> ibis.Expr:
    # ifelse, not a cast: PostgreSQL has no boolean -> bigint cast.
    return sum((t[x].notnull().ifelse(1, 0) for x in mm.xcols(spec)), ibis.literal(0, "int64"))


def cells(wh: WarehouseConnection, spec: mm.DriverSpec, scope: mm.Scope, negative: float) -> pd.DataFrame:
    t = mm.pivot(wh, spec, scope)
    neg = {x: (t[x] <= negative).fill_null(False) for x in mm.xcols(spec)}
    t = t.mutate(
        lived=_lived(t, spec),
        n_neg=sum((e.ifelse(1, 0) for e in neg.values()), ibis.literal(0, "int64")),
        neg_at=sum((e.ifelse(j + 1, 0) for j, e in enumerate(neg.values())), ibis.literal(0, "int64")),
    )
    t = t.filter((t.lived >= 1) & (t.n_neg <= 1))
    t = t.mutate(lived=ibis.least(t.lived, LIVED_CAP))
    return mm._sorted(t.group_by(["neg_at", "lived", "y"]).aggregate(w=t.count()).to_pandas())


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Frequency-weighted OLS: coefficients, HC1 covariance, residual df."""
    XtX = X.T @ (X * w[:, None])
    inv = np.linalg.pinv(XtX)
    b = inv @ (X.T @ (w * y))
    e = y - X @ b
    n, k = w.sum(), X.shape[1]
    meat = X.T @ (X * (w * e**2)[:, None])
    return b, inv @ meat @ inv * n / (n - k), n - k


def dissonance(wh: WarehouseConnection, spec: mm.DriverSpec, scope: mm.Scope, negative: float | None = None,
               confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    negative = mm.default_boxes(spec.scale)[0] if negative is None else negative
    c = cells(wh, spec, scope, negative)
    if c.empty:
        raise InputError("no respondents with the outcome and at least one rated driver")
    rows = []
    levels = sorted(c["lived"].unique())[1:]
    for j, label in enumerate(spec.labels):
        g = c[c["neg_at"].isin([0, j + 1])]
        d = (g["neg_at"] == j + 1).to_numpy(float)
        w, y = g["w"].to_numpy(float), g["y"].to_numpy(float)
        n_neg, n_pos = float((w * d).sum()), float((w * (1 - d)).sum())
        row = {"driver": label, "question": spec.questions[j], "n_single_negative": int(n_neg),
               "n_all_positive": int(n_pos)}
        if n_neg >= 2 and n_pos >= 2:
            X = np.column_stack([np.ones(len(g)), d, *[(g["lived"] == k).to_numpy(float) for k in levels]])
            keep = X.any(axis=0) | (np.arange(X.shape[1]) < 2)  # drop lived levels absent from this subsample
            b, cov, df = _wls(X[:, keep], y, w)
            se = float(np.sqrt(cov[1, 1]))
            tq = float(stats.t.ppf(0.5 + confidence / 2, df))
            row.update(effect=b[1], ci_low=b[1] - tq * se, ci_high=b[1] + tq * se,
                       p_value=float(2 * stats.t.sf(abs(b[1] / se), df)) if se > 0 else np.nan,
                       mean_single_negative=float((w * d * y).sum() / n_neg),
                       mean_all_positive=float((w * (1 - d) * y).sum() / n_pos))
        rows.append(row)
    df = pd.DataFrame(rows).reindex(columns=[
        "driver", "question", "effect", "ci_low", "ci_high", "p_value", "n_single_negative", "n_all_positive",
        "mean_single_negative", "mean_all_positive"])
    df["significant"] = df["p_value"] < (1 - confidence)
    df["small_sample"] = df["n_single_negative"] < min_n
    df["negative_max"] = negative
    df["specification"] = "y ~ single_negative + C(lived); HC1"
    return df


def weakest_link(wh: WarehouseConnection, spec: mm.DriverSpec, scope: mm.Scope,
                 confidence: float = 0.95) -> pd.DataFrame:
    t = mm.pivot(wh, spec, scope)
    xs = [t[x] for x in mm.xcols(spec)]
    lived = _lived(t, spec)
    total = sum((x.fill_null(0.0) for x in xs), ibis.literal(0.0, "float64"))
    t = t.mutate(lived=lived, mean_r=total / lived.cast("float64"), min_r=ibis.least(*xs) if len(xs) > 1 else xs[0])
    t = t.filter(t.lived >= 2)
    names = ["one", "mean_r", "min_r", "lived", "y"]
    cols = {"mean_r": t.mean_r, "min_r": t.min_r.cast("float64"), "lived": t.lived.cast("float64"), "y": t.y}
    aggs = {"one__one": t.count().cast("float64")}
    for i, a in enumerate(names[1:], start=1):
        aggs[f"one__{a}"] = cols[a].sum()
        aggs.update({f"{a}__{b}": (cols[a] * cols[b]).sum() for b in names[i:]})
    row = t.aggregate(**aggs).to_pandas().iloc[0]
    M = np.zeros((5, 5))
    for i, a in enumerate(names):
        for j, b in enumerate(names[i:], start=i):
            M[i, j] = M[j, i] = float(row[f"{a}__{b}"] or 0.0)
    n = M[0, 0]
    if n < 10:
        raise InputError(f"weakest link: need at least 10 respondents with two or more ratings, got {int(n)}")
    models = {"mean": ["one", "mean_r", "lived"], "min": ["one", "min_r", "lived"],
              "mean + min": ["one", "mean_r", "min_r", "lived"]}
    iy = names.index("y")
    tss = M[iy, iy] - M[0, iy] ** 2 / n
    out, rss_of = [], {}
    for label, regs in models.items():
        idx = [names.index(r) for r in regs]
        XtX, Xty = M[np.ix_(idx, idx)], M[idx, iy]
        b = np.linalg.solve(XtX, Xty)
        rss = float(M[iy, iy] - b @ Xty)
        k, df = len(idx), n - len(idx)
        se = np.sqrt(np.diag(rss / df * np.linalg.inv(XtX)))
        tq = float(stats.t.ppf(0.5 + confidence / 2, df))
        rss_of[label] = (rss, df)
        coef = dict(zip(regs, b, strict=True))
        ses = dict(zip(regs, se, strict=True))
        r = {"model": label, "formula": "y ~ " + " + ".join(regs[1:]), "n": int(n), "r2": 1 - rss / tss,
             "adj_r2": 1 - (rss / df) / (tss / (n - 1)),
             # Gaussian log-likelihood up to a constant shared by the three models (same respondents).
             "aic": n * np.log(rss / n) + 2 * k, "bic": n * np.log(rss / n) + k * np.log(n),
             "coef_mean": coef.get("mean_r", np.nan), "coef_min": coef.get("min_r", np.nan)}
        if "min_r" in coef:
            r.update(min_ci_low=coef["min_r"] - tq * ses["min_r"], min_ci_high=coef["min_r"] + tq * ses["min_r"],
                     min_p_value=float(2 * stats.t.sf(abs(coef["min_r"] / ses["min_r"]), df)))
        out.append(r)
    df = pd.DataFrame(out)
    (rss_a, _), (rss_c, df_c) = rss_of["mean"], rss_of["mean + min"]
    f = (rss_a - rss_c) / (rss_c / df_c)
    df["f_vs_mean"] = [np.nan, np.nan, f]
    df["f_p_value"] = [np.nan, np.nan, float(stats.f.sf(f, 1, df_c))]
    df["delta_aic_vs_mean"] = df["aic"] - df.loc[0, "aic"]
    return df.reindex(columns=["model", "formula", "n", "r2", "adj_r2", "aic", "bic", "delta_aic_vs_mean",
                               "coef_mean", "coef_min", "min_ci_low", "min_ci_high", "min_p_value", "f_vs_mean",
                               "f_p_value"])
