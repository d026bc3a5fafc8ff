"""Driver data from the warehouse: which answers are drivers, the per-respondent pivot, moments and cells.

Answers live long in the warehouse (one row per answer). A driver analysis needs them wide: one row per
response with the outcome and every driver (NULL when not answered, e.g. a touchpoint the customer did not
live). The pivot is an Ibis expression (a GROUP BY response with one filtered MAX per question), and every
statistic is then another aggregate over it, run where the data is (DuckDB, PostgreSQL, ...):
- ``moments``: counts, sums and cross-products per group, from which correlations follow (no rows leave);
- ``distinct_rows``: the pivot collapsed to distinct rows with their count, pulled once for the bootstrap
  (resampling needs respondents; identical respondents travel once with a frequency weight);
- ``cells``: respondents grouped by a coarse coding (score boxes, negatives, ...) and outcome value, so a
  regression on dummies is fitted exactly from a few hundred weighted cells instead of every row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.insights.scores.query import PERIODS, add_dimensions, check_scope
from momenti.insights.scores.segments import column_name
from momenti.warehouse.connection import WarehouseConnection

RATINGS = "touchpoint-ratings"
RATING_PREFIX = "rating_"


@dataclass
class DriverSpec:
    """What to analyse: the outcome question, the driver questions and how they read in the output."""

    outcome: str
    questions: list[str]
    labels: list[str]  # touchpoint key for rating_<touchpoint> questions, else the question key
    touchpoints: list[str | None]
    scale: tuple[float, float] = (1.0, 10.0)  # the drivers' score range (observed if not declared)


@dataclass
class Scope:
    """Which respondents: filters and grouping, with the metrics' dimensions (plus an optional period)."""

    by: list[str] = field(default_factory=list)
    period: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_scope(self.by, self.filters, self.period, self.start, self.end)

    @property
    def keys(self) -> list[str]:
        return [column_name(d) for d in self.by] + (["period"] if self.period else [])




def _numeric_questions(wh: WarehouseConnection) -> dict[str, tuple[float | None, float | None]]:
    q = wh.table("questions").to_pandas()
    q = q[q["kind"] != "text"]
    return {r.question: (r.scale_min, r.scale_max) for r in q.itertuples()}


def resolve(wh: WarehouseConnection, outcome: str, drivers: Sequence[str] | str | None) -> DriverSpec:
    """Driver names -> question keys. ``None`` or "touchpoint-ratings": every ``rating_<touchpoint>`` question;
    a touchpoint key means its ``rating_<touchpoint>`` question; anything else must be a numeric question."""
    numeric = _numeric_questions(wh)
    dim = wh.table("touchpoints").to_pandas().sort_values(["journey", "stage_position", "touchpoint_position"])
    tps = list(dim["touchpoint"])  # in the order of the journey map, as a reader walks it
    if outcome not in numeric:
        raise InputError(f"outcome {outcome!r} is not a numeric question; choose one of: {', '.join(sorted(numeric))}")
    if isinstance(drivers, str):
        drivers = [d.strip() for d in drivers.split(",") if d.strip()]
    items = list(drivers or [RATINGS])
    questions: list[str] = []
    for item in items:
        if item == RATINGS:
            walk = {RATING_PREFIX + t.replace("-", "_"): i for i, t in enumerate(tps)}
            found = sorted((q for q in numeric if q.startswith(RATING_PREFIX)), key=lambda q: walk.get(q, len(walk)))
            if not found:
                raise InputError(_no_ratings(tps, numeric, outcome))
            questions += found
        elif item in numeric:
            questions.append(item)
        elif RATING_PREFIX + item.replace("-", "_") in numeric:
            questions.append(RATING_PREFIX + item.replace("-", "_"))
        else:
            raise InputError(f"unknown driver {item!r}: not a numeric question nor a touchpoint with a "
                             f"rating_<touchpoint> question; numeric questions: {', '.join(sorted(numeric))}")
    questions = [q for q in dict.fromkeys(questions) if q != outcome]
    if not questions:
        raise InputError("no drivers left once the outcome is removed")
    labels, touchpoints = [], []
    by_key = {t.replace("-", "_"): t for t in tps}
    for q in questions:
        tp = by_key.get(q[len(RATING_PREFIX):]) if q.startswith(RATING_PREFIX) else None
        touchpoints.append(tp)
        labels.append(tp or q)
    lows = [numeric[q][0] for q in questions]
    highs = [numeric[q][1] for q in questions]
    scale = (min(lows), max(highs)) if None not in lows + highs and not any(map(_isnan, lows + highs)) else None
    if scale is None:
        a = wh.table("answers")
        a = a.filter(a.question.isin(questions))
        row = a.aggregate(lo=a.value_num.min(), hi=a.value_num.max()).to_pandas().iloc[0]
        scale = (float(row.lo), float(row.hi)) if pd.notna(row.lo) else (1.0, 10.0)
    return DriverSpec(outcome, questions, labels, touchpoints, scale)


def _no_ratings(tps: list[str], numeric: dict, outcome: str) -> str:
    """Why touchpoint-ratings found nothing, and the two ways out: the naming rule or explicit drivers."""
    tp = tps[0] if tps else "app-login"
    others = sorted(q for q in numeric if q != outcome)
    return ("no rating_<touchpoint> questions in the data (what --drivers touchpoint-ratings, the default, "
            f"takes): name your rating columns rating_<touchpoint key>, '-' written '_' (e.g. "
            f"rating_{tp.replace('-', '_')} for touchpoint {tp}), or pass --drivers (drivers= in Python) with "
            "question keys" + (f"; numeric questions: {', '.join(others)}" if others else ""))


def _isnan(v: object) -> bool:
    return isinstance(v, float) and math.isnan(v)


def default_boxes(scale: tuple[float, float]) -> tuple[float, float]:
    """Low and high boxes of a score scale: low = floor(min + 0.35·range), high = ceil(max − 0.25·range).

    1–5 gives <= 2 / >= 4 (bottom-2 / top-2 box), 1–10 gives <= 4 / >= 8, 0–10 <= 3 / >= 8, 1–7 <= 3 / >= 6."""
    lo, hi = scale
    return float(math.floor(lo + 0.35 * (hi - lo))), float(math.ceil(hi - 0.25 * (hi - lo)))


def xcols(spec: DriverSpec) -> list[str]:
    return [f"x{j}" for j in range(len(spec.questions))]


def pivot(wh: WarehouseConnection, spec: DriverSpec, scope: Scope) -> ibis.Table:
    """One row per response with the outcome: group keys, ``y`` and ``x0..x{p-1}`` (NULL = not answered)."""
    a = wh.table("answers")
    qs = [spec.outcome, *spec.questions]
    a = a.filter(a.question.isin(qs) & a.value_num.notnull())
    if scope.start is not None:
        a = a.filter(a.submitted_at >= ibis.literal(scope.start))
    if scope.end is not None:
        a = a.filter(a.submitted_at < ibis.literal(scope.end + dt.timedelta(days=1)))
    values = {"y": a.value_num.max(where=a.question == spec.outcome)}
    values.update({x: a.value_num.max(where=a.question == q) for x, q in zip(xcols(spec), spec.questions, strict=True)})
    t = a.group_by(["response_id", "customer_id", "submitted_at", "touchpoint", "channel", "language"]).aggregate(
        **values)
    t = t.filter(t.y.notnull())
    t = add_dimensions(wh, t, scope.by, scope.filters, ts="submitted_at")
    if scope.period:
        t = t.mutate(period=t.submitted_at.cast("timestamp").truncate(PERIODS[scope.period]).cast("date"))
    # Respondents with no driver answered add nothing to any driver statistic.
    t = t.filter(ibis.or_(*[t[x].notnull() for x in xcols(spec)]))
    return t.select(*scope.keys, rid=t.response_id, y=t.y, **{x: t[x] for x in xcols(spec)})


def _frame(expr: ibis.Table, keys: list[str]) -> pd.DataFrame:
    df = expr.to_pandas()
    if "period" in keys and len(df):
        df["period"] = pd.to_datetime(df["period"]).dt.strftime("%Y-%m-%d")
    return df


def moments(wh: WarehouseConnection, t: ibis.Table, spec: DriverSpec, scope: Scope, pairwise: bool,
            ) -> list[tuple[dict, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]]:
    """Per group: (keys, (N, S, SS, C)) over [drivers | outcome], computed in the warehouse.

    Pairwise: N[j,k] respondents with both, S[j,k] = Σ x_j over them, SS[j,k] = Σ x_j², C[j,k] = Σ x_j·x_k.
    Listwise: the same over respondents with every driver. Computed as the answers' self-join per respondent
    (long format: one row per answered pair), which costs what the data holds rather than q² filtered sums
    over every row: sparse touchpoint ratings make a few pairs per respondent."""
    cols = [*xcols(spec), "y"]
    q = len(cols)
    if not pairwise:
        t = t.filter(ibis.and_(*[t[c].notnull() for c in cols]))
    # The answers table is already long: join it to the respondents in scope instead of unpivoting.
    ids = t.select("rid", *scope.keys)
    a = t_answers(wh, spec)
    long = a.join(ids, a.response_id == ids.rid).select(*[ids[k] for k in scope.keys], rid=ids.rid,
                                                        v=a.question, val=a.value_num)
    other = long.view()
    pairs = long.join(other, long.rid == other.rid).select(
        *[long[k] for k in scope.keys], j=long.v, k=other.v, a=long.val, b=other.val)
    pairs = pairs.filter(pairs.j <= pairs.k)
    aggs = dict(n=pairs.count(), sa=pairs.a.sum(), sb=pairs.b.sum(), ssa=(pairs.a * pairs.a).sum(),
                ssb=(pairs.b * pairs.b).sum(), c=(pairs.a * pairs.b).sum())
    df = _frame(pairs.group_by([*scope.keys, "j", "k"]).aggregate(**aggs), scope.keys)
    index = {c: i for i, c in enumerate([*spec.questions, spec.outcome])}
    out: list = []
    if df.empty:
        return out
    for key, g in group_slices(df, scope.keys).items():
        N, S, SS, C = (np.zeros((q, q)) for _ in range(4))
        j = g["j"].map(index).to_numpy(dtype=np.int64)
        k = g["k"].map(index).to_numpy(dtype=np.int64)
        for arr, left, right in ((N, "n", "n"), (S, "sa", "sb"), (SS, "ssa", "ssb"), (C, "c", "c")):
            arr[j, k] = g[left].to_numpy(float)
            arr[k, j] = g[right].to_numpy(float)
        if N[q - 1, q - 1] > 0:
            out.append((dict(zip(scope.keys, key, strict=True)), (N, S, SS, C)))
    return sorted(out, key=lambda kv: tuple(str(v) for v in kv[0].values()))  # same order on every backend


def t_answers(wh: WarehouseConnection, spec: DriverSpec) -> ibis.Table:
    """The answers (long) of the outcome and the driver questions."""
    a = wh.table("answers")
    return a.filter(a.question.isin([spec.outcome, *spec.questions]) & a.value_num.notnull())


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    # A GROUP BY returns rows in no fixed order; the bootstrap draws rows by position, so a fixed order is
    # what makes a seed reproduce the same intervals.
    return df.sort_values(list(df.columns), na_position="last", kind="stable").reset_index(drop=True)


def distinct_rows(t: ibis.Table, spec: DriverSpec, scope: Scope) -> pd.DataFrame:
    """The pivot as distinct (keys, y, x...) rows with their count ``w``: what the bootstrap resamples."""
    cols = [*scope.keys, "y", *xcols(spec)]
    return _sorted(_frame(t.group_by(cols).aggregate(w=t.count()), scope.keys))


def group_slices(df: pd.DataFrame, keys: list[str]) -> dict[tuple, pd.DataFrame]:
    if not keys:
        return {(): df}
    return {k if isinstance(k, tuple) else (k,): g for k, g in df.groupby(keys, dropna=False, sort=False)}


def boxes(t: ibis.Table, spec: DriverSpec, scope: Scope, low: float, high: float) -> pd.DataFrame:
    """Respondents grouped by each driver's box (1 low, 2 middle, 3 high, NULL not rated) and outcome."""
    coded = {x: ibis.cases((t[x].isnull(), ibis.null("float64")), (t[x] <= low, 1.0), (t[x] >= high, 3.0),
                           else_=2.0) for x in xcols(spec)}
    c = t.select(*scope.keys, "y", **coded)
    return _sorted(_frame(c.group_by([*scope.keys, "y", *xcols(spec)]).aggregate(w=c.count()), scope.keys))
