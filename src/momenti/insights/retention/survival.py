"""Retention statistics on one row per customer (retention_data.customer_frame): Kaplan-Meier curves with
confidence bands and the number at risk, median survival, the log-rank test across groups and a Cox
proportional-hazards model. lifelines does the estimation (KM, Cox with delayed entry); the log-rank test is
written here because lifelines' test has no delayed entry (left truncation), which tenure needs.

Times are in days on the chosen clock (see retention_data for duration, event, entry).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from momenti.core.errors import InputError
from momenti.insights.retention.data import LOYALTY_ORDER, NPS_ORDER, Covariate

CURVE_COLUMNS = ["group", "time", "survival", "ci_low", "ci_high", "at_risk", "events", "censored"]
SUMMARY_COLUMNS = ["group", "n", "events", "censored", "median_days", "median_ci_low", "median_ci_high",
                   "survival_1y", "chi2", "df", "p_value", "small_sample"]
COX_COLUMNS = ["covariate", "hazard_ratio", "ci_low", "ci_high", "p_value", "coef", "se", "n", "events",
               "concordance"]


def _order(groups: pd.Series) -> list[str]:
    present = [str(g) for g in groups.dropna().unique()]
    for known in (NPS_ORDER, LOYALTY_ORDER):
        if set(present) <= set(known):
            return [g for g in known if g in present]
    return sorted(present)


def _check(frame: pd.DataFrame) -> None:
    if frame.empty:
        raise InputError("no customer is at risk in the observation window (check the outcomes and the dates)")


def _fitter(frame: pd.DataFrame, confidence: float, label: str):  # noqa: ANN202 - a lifelines fitter
    from lifelines import KaplanMeierFitter
    from lifelines.exceptions import StatError

    entry = frame["entry"] if (frame["entry"] > 0).any() else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifelines warns about few early entries: the table shows at_risk
            return KaplanMeierFitter(alpha=1 - confidence).fit(frame["duration"], frame["event"], entry=entry,
                                                               label=label)
    except StatError as exc:  # delayed entry with almost nobody at risk at short tenures
        raise InputError(f"group {label!r}: too few customers observed from the start of their relationship for "
                         f"a tenure curve; use the observation clock ({exc})") from exc


def km_curves(frame: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier survival per group (column `group`, or one curve "all"): one row per time where a customer
    churns, plus the first and last time; ci_low/ci_high are lifelines' exponential Greenwood band; at_risk is
    the number at risk just before that time."""
    _check(frame)
    if "group" not in frame:
        frame = frame.assign(group="all")
    parts = []
    for g in _order(frame["group"]):
        sub = frame[frame["group"] == g]
        kmf = _fitter(sub, confidence, g)
        table = kmf.event_table
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_
        keep = (table["observed"] > 0).to_numpy().copy()
        keep[0] = keep[-1] = True
        idx = table.index[keep]
        parts.append(pd.DataFrame({
            "group": g, "time": idx.to_numpy(float), "survival": sf.loc[idx].to_numpy(float),
            "ci_low": ci.iloc[:, 0].loc[idx].to_numpy(float), "ci_high": ci.iloc[:, 1].loc[idx].to_numpy(float),
            "at_risk": table["at_risk"].loc[idx].to_numpy("int64"),
            "events": table["observed"].loc[idx].to_numpy("int64"),
            "censored": table["censored"].loc[idx].to_numpy("int64"),
        }))
    return pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]


def at_risk_at(frame: pd.DataFrame, times: np.ndarray | list[float]) -> pd.DataFrame:
    """Customers still at risk at each time t, per group (columns, in curve order; index: the times): entered
    by t (entry <= t) and neither churned nor censored yet (duration > t). This is lifelines' number at risk
    under a plot (add_at_risk_counts: survival_table_from_events' at_risk minus removed, at the last table time
    <= t); between churn times it counts every censoring and late entry since the churn before, which the
    curve rows (at_risk just before each churn time) cannot."""
    if "group" not in frame:
        frame = frame.assign(group="all")
    t = np.asarray(times, dtype=float)
    out = {}
    for g in _order(frame["group"]):
        sub = frame[frame["group"] == g]
        entered = np.searchsorted(np.sort(sub["entry"].to_numpy(float)), t, side="right")
        left = np.searchsorted(np.sort(sub["duration"].to_numpy(float)), t, side="right")
        out[g] = (entered - left).astype("int64")
    return pd.DataFrame(out, index=t)


def p_text(p: float, chi2: float, df: int) -> str:
    """'p = 0.0031', or for a p-value too small for a float ('0') a true bound: 'p < 1e-412' from the log of
    the chi-square tail where it is finite, else 'p < 1e-300'."""
    if not math.isfinite(p):
        return "p = –"
    if p >= 1e-300:
        return f"p = {p:.2g}"
    log10 = float(sps.chi2.logsf(chi2, df)) / math.log(10) if math.isfinite(chi2) and df > 0 else -math.inf
    return f"p < 1e{math.ceil(log10)}" if math.isfinite(log10) and log10 < -300 else "p < 1e-300"


def logrank(frame: pd.DataFrame) -> tuple[float, int, float]:
    """Multivariate log-rank test across the groups of `frame` with delayed entry: (chi2, df, p_value).

    At each distinct churn time t the risk set is every customer with entry < t <= duration. With O_g and E_g
    the observed and expected churns of group g, U = O - E and V the hypergeometric covariance
    V_gh = sum_t d_t (n_t - d_t) / (n_t - 1) * n_gt / n_t * (1{g=h} - n_ht / n_t); chi2 = U' V^- U on G - 1
    degrees of freedom (the last group dropped). Without delayed entry this is the textbook statistic (tested
    equal to lifelines' multivariate_logrank_test)."""
    groups = _order(frame["group"])
    if len(groups) < 2:
        return math.nan, 0, math.nan
    code = frame["group"].map({g: i for i, g in enumerate(groups)}).to_numpy()
    dur, ent = frame["duration"].to_numpy(float), frame["entry"].to_numpy(float)
    ev = frame["event"].to_numpy(bool)
    times = np.unique(dur[ev])
    k = len(groups)
    # n_gt: entered before t (entry < t) minus left before t (duration < t), counted per group by sorting.
    n = np.empty((len(times), k))
    d = np.empty((len(times), k))
    for g in range(k):
        m = code == g
        n[:, g] = (np.searchsorted(np.sort(ent[m]), times, side="left")
                   - np.searchsorted(np.sort(dur[m]), times, side="left"))
        d[:, g] = np.bincount(np.searchsorted(times, dur[m & ev]), minlength=len(times))
    nt, dt_ = n.sum(axis=1), d.sum(axis=1)
    ok = nt > 0
    n, d, nt, dt_ = n[ok], d[ok], nt[ok], dt_[ok]
    expected = (n * (dt_ / nt)[:, None]).sum(axis=0)
    u = d.sum(axis=0) - expected
    w = np.where(nt > 1, dt_ * (nt - dt_) / np.maximum(nt - 1, 1), 0.0) / nt  # per time
    p = n / nt[:, None]
    v = np.diag((w[:, None] * n).sum(axis=0)) - (w[:, None, None] * n[:, :, None] * p[:, None, :]).sum(axis=0)
    u, v = u[:-1], v[:-1, :-1]
    chi2 = float(u @ np.linalg.pinv(v) @ u)
    df = k - 1
    return chi2, df, float(sps.chi2.sf(chi2, df))


def summary(frame: pd.DataFrame, confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Per group: n, events, censored, median survival (days; NaN while the curve stays above 50 %) with its
    interval, survival at one year of tenure, and the log-rank test across the groups (same chi2, df and
    p_value on every row). small_sample: fewer than min_n customers."""
    from lifelines.utils import median_survival_times

    _check(frame)
    if "group" not in frame:
        frame = frame.assign(group="all")
    chi2, df, p = logrank(frame)
    rows = []
    for g in _order(frame["group"]):
        sub = frame[frame["group"] == g]
        kmf = _fitter(sub, confidence, g)
        med = float(kmf.median_survival_time_)
        ci = median_survival_times(kmf.confidence_interval_)
        lo, hi = (float(ci.iloc[0, 0]), float(ci.iloc[0, 1])) if len(ci) else (math.nan, math.nan)
        s1 = float(kmf.survival_function_at_times(365.0).iloc[0]) if sub["duration"].max() >= 365 else math.nan
        n_events = int(sub["event"].sum())
        rows.append({"group": g, "n": len(sub), "events": n_events, "censored": len(sub) - n_events,
                     "median_days": _finite(med), "median_ci_low": _finite(lo), "median_ci_high": _finite(hi),
                     "survival_1y": s1, "chi2": chi2, "df": df, "p_value": p, "small_sample": len(sub) < min_n})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def episodes(frame: pd.DataFrame, covariates: list[Covariate]) -> pd.DataFrame:
    """Split each customer's follow-up where a `bad` covariate switches on (its `<column>_at`), so that the
    exposure counts only from the bad experience onwards (a time-varying covariate: counting it from time 0
    would credit the customer's survival up to the experience to it, the "immortal time" bias).
    Columns: customer_id, start, stop, event (only on the last episode), the covariates."""
    bad = [c.column for c in covariates if c.kind == "bad"]
    base = frame[["customer_id", "entry", "duration", "event", *[c.column for c in covariates]]]
    cuts = frame.melt(id_vars=["customer_id", "entry", "duration"], value_vars=[f"{b}_at" for b in bad],
                      value_name="start").dropna(subset=["start"])
    cuts = cuts[(cuts["start"] > cuts["entry"]) & (cuts["start"] < cuts["duration"])]
    starts = pd.concat([frame[["customer_id"]].assign(start=frame["entry"]), cuts[["customer_id", "start"]]])
    starts = starts.drop_duplicates().sort_values(["customer_id", "start"], kind="stable")
    ep = starts.merge(base, on="customer_id", how="left")
    ep["stop"] = ep.groupby("customer_id", sort=False)["start"].shift(-1).fillna(ep["duration"])
    ep["event"] = ep["event"].where(ep["stop"] == ep["duration"], 0).astype("int64")
    for b in bad:
        at = ep["customer_id"].map(frame.set_index("customer_id")[f"{b}_at"])
        ep[b] = (at <= ep["start"]).astype("float64")
    return ep[["customer_id", "start", "stop", "event", *[c.column for c in covariates]]].reset_index(drop=True)


def concordance(ep: pd.DataFrame, risk: np.ndarray) -> float:
    """Harrell's C with time-varying covariates: at each churn time, the churning customer's current risk score
    against that of every other customer at risk then (still there after that time); ties count one half."""
    start, stop = ep["start"].to_numpy(float), ep["stop"].to_numpy(float)
    ev = ep["event"].to_numpy(bool)
    ids = ep["customer_id"].to_numpy()
    good = total = 0.0
    for i in np.flatnonzero(ev):  # one vectorised comparison per churn (thousands at most), not per row
        t = stop[i]
        at_risk = (start < t) & (stop >= t) & (ids != ids[i]) & ~(ev & (stop == t))
        r = risk[at_risk]
        good += float((r < risk[i]).sum()) + 0.5 * float((r == risk[i]).sum())
        total += float(len(r))
    return good / total if total else math.nan


def cox(frame: pd.DataFrame, covariates: list[Covariate], confidence: float = 0.95) -> pd.DataFrame:
    """Cox proportional hazards (Efron ties, delayed entry) of churn on the covariates: per covariate the hazard
    ratio exp(coef) with its Wald interval and p-value; n, events and Harrell's concordance of the model.
    `bad` covariates are time-varying (see `episodes`); scores and question means are the customer's mean up to
    the stop. Customers missing a covariate (a score they never gave) are left out (listwise)."""
    from lifelines import CoxTimeVaryingFitter
    from lifelines.exceptions import ConvergenceError

    cols = [c.column for c in covariates]
    data = frame.dropna(subset=cols)
    _check(data)
    if int(data["event"].sum()) == 0:
        raise InputError("no churn among the customers with these covariates: a Cox model needs events")
    flat = [c.name for c in covariates if data[c.column].nunique() < 2]
    if flat:
        raise InputError(f"covariate(s) {', '.join(flat)} take one value for every customer: nothing to compare")
    ep = episodes(data, covariates)
    # lifelines wants stop > start; a churn on the day the relationship began is moved a moment later.
    ep["stop"] = np.maximum(ep["stop"], ep["start"] + 1e-6)
    ctv = CoxTimeVaryingFitter(alpha=1 - confidence)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctv.fit(ep, id_col="customer_id", event_col="event", start_col="start", stop_col="stop")
    except ConvergenceError as exc:
        raise InputError(f"the Cox model did not converge (collinear or separating covariates?): {exc}") from exc
    s = ctv.summary
    ci = ctv.confidence_intervals_
    beta = s.loc[cols, "coef"].to_numpy(float)
    out = pd.DataFrame({
        "covariate": [c.name for c in covariates],
        "hazard_ratio": np.exp(beta),
        "ci_low": np.exp(ci.loc[cols].iloc[:, 0].to_numpy(float)),
        "ci_high": np.exp(ci.loc[cols].iloc[:, 1].to_numpy(float)),
        "p_value": s.loc[cols, "p"].to_numpy(float),
        "coef": beta,
        "se": s.loc[cols, "se(coef)"].to_numpy(float),
    })
    c_index = concordance(ep, ep[cols].to_numpy(float) @ beta)
    return out.assign(n=len(data), events=int(data["event"].sum()), concordance=c_index)[COX_COLUMNS]
