"""Moments-of-truth analyses on warehouse data: key drivers, penalty–reward, quadrant, dissonance, weakest link.

Each function takes an open warehouse and returns a DataFrame; ``momenti.insights.drivers.questions`` wraps them as
Workspace methods. Formulas: DESIGN.md ("Statistics to get right") and docs/drivers.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.engines import stats as st
from momenti.engines.drivers import DriverInputError, RelativeWeights, ShapleyR2
from momenti.engines.penalty_reward import PenaltyReward
from momenti.insights.drivers import data as mm
from momenti.warehouse.connection import WarehouseConnection

METHODS = ("relative_weights", "shapley")


def _estimator(method: str, missing: str, bootstrap: int, seed: int, confidence: float):  # noqa: ANN202
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose relative_weights or shapley")
    if missing not in ("listwise", "pairwise"):
        raise InputError(f"unknown missing policy {missing!r}; choose listwise or pairwise")
    if bootstrap < 0:
        raise InputError("bootstrap must be >= 0")
    cls = RelativeWeights if method == "relative_weights" else ShapleyR2
    return cls(n_boot=bootstrap, confidence=confidence, random_state=seed, missing=missing)


def drivers(wh: WarehouseConnection, spec: mm.DriverSpec, scope: mm.Scope, method: str = "relative_weights",
            missing: str = "pairwise", bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95,
            min_n: int = 30) -> pd.DataFrame:
    """Key drivers per group: correlations from warehouse moments; bootstrap on the distinct rows pulled once."""
    _estimator(method, missing, bootstrap, seed, confidence)
    t = mm.pivot(wh, spec, scope)
    groups = mm.moments(wh, t, spec, scope, pairwise=missing == "pairwise")
    rows = mm.group_slices(mm.distinct_rows(t, spec, scope), scope.keys) if bootstrap else {}
    frames = []
    for key, mom in groups:
        est = _estimator(method, missing, bootstrap, seed, confidence)
        base = pd.DataFrame({"driver": spec.labels, "question": spec.questions})
        try:
            est.fit_moments(mom, spec.labels)
            if bootstrap:
                g = rows[tuple(key.values())]
                est.resample(g[mm.xcols(spec)].to_numpy(float), g["y"].to_numpy(float), g["w"].to_numpy(float))
        except DriverInputError as exc:
            if not scope.keys:
                raise
            # A group too small to analyse is reported with its reason, never silently left out.
            frames.append(base.assign(**key, note=str(exc)))
            continue
        f = est.to_frame().drop(columns="driver")
        label = "relative weights" if method == "relative_weights" else f"shapley ({est.method_})"
        frames.append(pd.concat([base, f], axis=1).assign(
            **key, n_respondents=est.n_, r2=est.r2_, method=label, missing=est.missing_,
            shrinkage=est.shrinkage_, n_boot=est.n_boot_used_, note=""))
    if not frames:
        raise InputError("no respondents with the outcome and at least one driver"
                         + (" and every driver (listwise); try missing='pairwise'" if missing == "listwise" else ""))
    df = pd.concat(frames, ignore_index=True)
    if "n" not in df:  # every group too small to fit: their notes only
        df["n"] = float("nan")
    df["small_sample"] = df["n"].fillna(0) < min_n
    cols = [*scope.keys, "driver", "question", "weight", "rescaled_pct", "ci_low", "ci_high", "rank",
            "rank_stability", "n", "n_respondents", "r2", "method", "missing", "shrinkage", "n_boot",
            "small_sample", "note"]
    return df.reindex(columns=cols)


def penalty_reward(wh: WarehouseConnection, spec: mm.DriverSpec, scope: mm.Scope, low: float | None = None,
                   high: float | None = None, missing: str = "indicator", confidence: float = 0.95,
                   min_n: int = 30) -> pd.DataFrame:
    """Penalty–reward per driver, fitted on respondents grouped by score box (exact: frequency weights)."""
    dlow, dhigh = mm.default_boxes(spec.scale)
    low, high = (dlow if low is None else low), (dhigh if high is None else high)
    if not low < high:
        raise InputError(f"low ({low}) must be below high ({high})")
    cells = mm.group_slices(mm.boxes(mm.pivot(wh, spec, scope), spec, scope, low, high), scope.keys)
    frames = []
    for key, g in cells.items():
        if g.empty:
            continue
        # Cells hold each driver's box (1 low, 2 middle, 3 high), so the boxes are 1 and 3 here; the frame's
        # columns are the driver labels, which the estimator's notes name.
        pr = PenaltyReward(low=1, high=3, confidence=confidence, missing=missing)
        try:
            pr.fit(pd.DataFrame(g[mm.xcols(spec)].to_numpy(float), columns=spec.labels), g["y"].to_numpy(float),
                   g["w"].to_numpy(float))
        except DriverInputError as exc:
            exc = DriverInputError(f"{exc} (low box <= {low:g}, high box >= {high:g})")
            if not scope.keys:
                raise exc from None
            frames.append(pd.DataFrame({"driver": spec.labels}).assign(**dict(zip(scope.keys, key, strict=True)),
                                                                       note=str(exc)))
            continue
        f = pr.to_frame().drop(columns="driver")
        frames.append(pd.concat([pd.DataFrame({"driver": spec.labels, "question": spec.questions}), f], axis=1)
                      .assign(**dict(zip(scope.keys, key, strict=True)), n_respondents=pr.n_, r2=pr.r2_, low=low,
                              high=high, missing=missing))
    if not frames:
        raise InputError("no respondents with the outcome and at least one driver")
    df = pd.concat(frames, ignore_index=True)
    if "n" not in df:  # every group too small to fit: their notes only
        df["n"] = float("nan")
    df["small_sample"] = df["n"].fillna(0) < min_n
    cols = [*scope.keys, "driver", "question", "penalty", "penalty_ci_low", "penalty_ci_high", "reward",
            "reward_ci_low", "reward_ci_high", "impact_asymmetry", "ia_ci_low", "ia_ci_high", "category", "n",
            "n_respondents", "r2", "low", "high", "missing", "small_sample", "note"]
    return df.reindex(columns=cols)


def _declared(wh: WarehouseConnection) -> dict[str, bool]:
    tp = wh.table("touchpoints").to_pandas()
    return {r.touchpoint: bool(r.moment_of_truth) for r in tp.itertuples()}


def quadrant(wh: WarehouseConnection, spec: mm.DriverSpec, scope: mm.Scope, imp: pd.DataFrame,
             performance: pd.DataFrame) -> pd.DataFrame:
    """Importance (rescaled driver weight) × performance, cut at the mean of each over the drivers shown."""
    df = imp[["driver", "question", "rescaled_pct", "ci_low", "ci_high", "weight", "n"]].copy()
    r2 = imp["r2"].iloc[0]
    df = df.rename(columns={"rescaled_pct": "importance"})
    # Interval of the importance on the same % scale as the point (raw weight interval / R²).
    df["importance_ci_low"], df["importance_ci_high"] = 100 * df.pop("ci_low") / r2, 100 * df.pop("ci_high") / r2
    df = df.drop(columns="weight").merge(performance, on="driver", how="left")
    imp_cut, perf_cut = float(df["importance"].mean()), float(df["performance"].mean())
    high_imp, high_perf = df["importance"] >= imp_cut, df["performance"] >= perf_cut
    df["quadrant"] = np.select([high_imp & ~high_perf, high_imp & high_perf, ~high_imp & ~high_perf],
                               ["concentrate here", "keep up", "low priority"], "possible overkill")
    df.loc[df["performance"].isna(), "quadrant"] = "no performance data"
    df["importance_cut"], df["performance_cut"] = imp_cut, perf_cut
    declared = _declared(wh)
    tps = dict(zip(spec.labels, spec.touchpoints, strict=True))
    df["declared_mot"] = [declared.get(tps.get(d) or "", None) if tps.get(d) else None for d in df["driver"]]
    df["revealed_mot"] = high_imp
    df["mot_agreement"] = np.select(
        [df["declared_mot"].eq(True) & df["revealed_mot"], df["declared_mot"].eq(True) & ~df["revealed_mot"],
         df["declared_mot"].eq(False) & df["revealed_mot"]],
        ["confirmed", "declared, not revealed", "revealed, not declared"], "neither")
    df["declared_mot"] = df["declared_mot"].astype("boolean")
    return df


def performance_from_ratings(wh: WarehouseConnection, spec: mm.DriverSpec, scope: mm.Scope,
                             confidence: float) -> pd.DataFrame:
    """Mean driver score (t-interval) over the respondents in scope, from n, Σx, Σx² in the warehouse."""
    t = mm.pivot(wh, spec, scope)
    aggs = {}
    for x in mm.xcols(spec):
        aggs[f"n_{x}"] = t[x].count()
        aggs[f"s_{x}"] = t[x].sum()
        aggs[f"ss_{x}"] = (t[x] * t[x]).sum()
    row = t.aggregate(**aggs).to_pandas().iloc[0]
    n = np.array([row[f"n_{x}"] for x in mm.xcols(spec)], dtype=float)
    s = np.array([row[f"s_{x}"] for x in mm.xcols(spec)], dtype=float)
    ss = np.array([row[f"ss_{x}"] for x in mm.xcols(spec)], dtype=float)
    mean, lo, hi, _ = st.mean_t(n, s, ss, confidence)
    return pd.DataFrame({"driver": spec.labels, "performance": mean, "performance_ci_low": lo,
                         "performance_ci_high": hi, "performance_n": n.astype(int),
                         "performance_measure": "mean rating"})
