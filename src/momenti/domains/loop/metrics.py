"""Case metrics: is the loop closed, fast, and does it win customers back?

Per group (team, priority, touchpoint, rule, month opened), from the cases in the store and their entries:
- close-the-loop rate: share of cases contacted within `hours` (wall-clock, 48 by default: the practitioners'
  target is 80 % within 48 h) among the cases that can tell (contacted, or opened at least `hours` ago), with a
  Wilson interval;
- time to first contact and to resolution, median and p90, in the policy's business hours;
- SLA hit rate: cases whose SLA is decided (met or breached) that met it, with an interval;
- reopen rate among cases ever resolved;
- recovery: among contacted cases whose customer answered the recovery survey, the share passive or promoter
  (NPS >= 7) with an interval, and the recovery NPS (adjusted-Wald interval).
Every rate carries its n; `small_sample` flags groups under MOMENTI_MIN_N. The SLA clocks are computed on read
as everywhere (domains/loop/sla.py); nothing here is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from momenti.domains.loop.queue import clock_of, policy_of, status_history
from momenti.engines.stats import nps as nps_interval
from momenti.engines.stats import wilson
from momenti.store.loop import Case

GROUPS = ("team", "priority", "touchpoint", "rule", "month", "contact_window")
METRIC_COLUMNS = ["n", "loop_n", "contacted_in_time", "close_loop_rate", "ci_low", "ci_high",
                  "first_contact_median_h", "first_contact_p90_h", "resolution_median_h", "resolution_p90_h",
                  "sla_n", "sla_hit_rate", "sla_ci_low", "sla_ci_high", "resolved_n", "reopen_rate",
                  "recovery_n", "recovery_rate", "recovery_ci_low", "recovery_ci_high", "recovery_nps",
                  "recovery_nps_ci_low", "recovery_nps_ci_high", "small_sample"]


def case_frame(session: Session, start: dt.date | None = None, end: dt.date | None = None,
               now: dt.datetime | None = None) -> pd.DataFrame:
    """One row per case opened in [start, end] with its clock read now: the input of every case metric."""
    from momenti.core.clock import utcnow

    now = now or utcnow()
    stmt = select(Case)
    if start is not None:
        stmt = stmt.where(Case.opened_at >= dt.datetime.combine(start, dt.time()))
    if end is not None:
        stmt = stmt.where(Case.opened_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    cases = list(session.scalars(stmt))
    history = status_history(session, [c.id for c in cases])
    rows = []
    for c in cases:
        steps = history.get(c.id, [])
        clock = clock_of(c, steps, now)
        cal = policy_of(c.sla_policy).calendar
        first, resolved = clock.first_contact_at, clock.resolved_at
        rows.append({
            "id": c.id, "team": c.team, "priority": c.priority, "touchpoint": c.touchpoint, "rule": c.rule_key,
            "month": c.opened_at.strftime("%Y-%m"), "opened_at": c.opened_at, "status": c.status,
            "contact_wall_h": (first - c.opened_at).total_seconds() / 3600 if first else np.nan,
            "age_h": (now - c.opened_at).total_seconds() / 3600,
            "first_contact_h": cal.business_seconds(c.opened_at, first) / 3600 if first else np.nan,
            "resolution_h": cal.business_seconds(c.opened_at, resolved) / 3600 if resolved else np.nan,
            "sla_state": clock.state, "ever_resolved": any(s in ("resolved", "closed") for _, s in steps),
            "reopened": any(s == "reopened" for _, s in steps), "contacted": first is not None,
            "root_cause": c.root_cause, "recovered": c.recovered, "recovery_nps": c.recovery_nps,
            "customer_id": c.customer_key})
    return pd.DataFrame(rows, columns=["id", "team", "priority", "touchpoint", "rule", "month", "opened_at",
                                       "status", "contact_wall_h", "age_h", "first_contact_h", "resolution_h",
                                       "sla_state", "ever_resolved", "reopened", "contacted", "root_cause",
                                       "recovered", "recovery_nps", "customer_id"])


def _group(df: pd.DataFrame, hours: float, confidence: float, min_n: int) -> dict[str, Any]:
    decidable = df[df["contacted"] | (df["age_h"] >= hours)]
    in_time = int((decidable["contact_wall_h"] <= hours).sum())
    rate, lo, hi = wilson(in_time, len(decidable), confidence)
    decided = df[df["sla_state"].isin(["met", "breached"])]
    met = int((decided["sla_state"] == "met").sum())
    sla, slo, shi = wilson(met, len(decided), confidence)
    resolved = df[df["ever_resolved"]]
    reopen = 100.0 * resolved["reopened"].mean() if len(resolved) else np.nan
    answered = df[df["contacted"] & df["recovery_nps"].notna()]
    scores = answered["recovery_nps"]
    won = int((scores >= 7).sum())
    rec, rlo, rhi = wilson(won, len(answered), confidence)
    promoters, detractors = int((scores >= 9).sum()), int((scores <= 6).sum())
    rnps, nlo, nhi = nps_interval(promoters, len(answered) - promoters - detractors, detractors, confidence)

    def q(col: str, p: float) -> float:
        values = df[col].dropna()
        return float(np.percentile(values, p)) if len(values) else np.nan

    return {"n": len(df), "loop_n": len(decidable), "contacted_in_time": in_time,
            "close_loop_rate": _num(rate), "ci_low": _num(lo), "ci_high": _num(hi),
            "first_contact_median_h": q("first_contact_h", 50), "first_contact_p90_h": q("first_contact_h", 90),
            "resolution_median_h": q("resolution_h", 50), "resolution_p90_h": q("resolution_h", 90),
            "sla_n": len(decided), "sla_hit_rate": _num(sla), "sla_ci_low": _num(slo), "sla_ci_high": _num(shi),
            "resolved_n": len(resolved), "reopen_rate": reopen, "recovery_n": len(answered),
            "recovery_rate": _num(rec), "recovery_ci_low": _num(rlo), "recovery_ci_high": _num(rhi),
            "recovery_nps": _num(rnps) if len(answered) else np.nan,
            "recovery_nps_ci_low": _num(nlo) if len(answered) else np.nan,
            "recovery_nps_ci_high": _num(nhi) if len(answered) else np.nan,
            "small_sample": len(decidable) < min_n}


def _num(value: Any) -> float:
    arr = np.asarray(value, dtype=float)
    return float(arr.reshape(-1)[0]) if arr.size else np.nan


def _dims(by: list[str] | None) -> list[str]:
    dims = list(by or [])
    bad = [d for d in dims if d not in GROUPS]
    if bad:
        from momenti.core.errors import InputError

        raise InputError(f"by {', '.join(bad)}: case metrics group by {', '.join(GROUPS)}")
    return dims


def case_metrics(frame: pd.DataFrame, by: list[str] | None = None, hours: float = 48, confidence: float = 0.95,
                 min_n: int = 30) -> pd.DataFrame:
    dims = _dims(by)
    if "contact_window" in dims:  # how fast the customer was reached: within `hours`, later, or not (yet)
        window = np.where(frame["contact_wall_h"] <= hours, f"within {hours:g} h",
                          np.where(frame["contacted"], f"after {hours:g} h", "not contacted"))
        frame = frame.assign(contact_window=window)
    if not dims:
        return pd.DataFrame([_group(frame, hours, confidence, min_n)], columns=METRIC_COLUMNS)
    rows = []
    for key, part in frame.groupby(dims, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(dims, key, strict=True)), **_group(part, hours, confidence, min_n)})
    return pd.DataFrame(rows, columns=[*dims, *METRIC_COLUMNS])


def root_causes(frame: pd.DataFrame, by: str | None = "touchpoint") -> pd.DataFrame:
    """The root-cause Pareto: resolved cases per root cause (within `by`), share and cumulative share."""
    cols = [c for c in (by,) if c] + ["root_cause", "n", "share", "cumulative_share"]
    done = frame[frame["root_cause"].notna()]
    if done.empty:
        return pd.DataFrame(columns=cols)
    keys = [c for c in (by,) if c]
    counts = done.groupby([*keys, "root_cause"], dropna=False).size().rename("n").reset_index()
    counts = counts.sort_values([*keys, "n", "root_cause"], ascending=[True] * len(keys) + [False, True])
    totals = counts.groupby(keys)["n"].transform("sum") if keys else counts["n"].sum()
    counts["share"] = 100.0 * counts["n"] / totals
    counts["cumulative_share"] = counts.groupby(keys)["share"].cumsum() if keys else counts["share"].cumsum()
    return counts[cols].reset_index(drop=True)
