"""Loyalty battery, net shifts and the loyalty index, computed in the warehouse (Ibis) on the `answers` table.

A loyalty battery is a set of agree-scale statements (default 1-5) such as "I buy the brand I want most"
(agreeing = loyal) or "I sometimes buy another brand on offer" (agreeing = LESS loyal: a *reverse-coded*
item, which must be declared). The question keys are parameters: a company names its items its own way.

- battery: per item x group x period, the share agreeing (score >= agree_min) with a Wilson interval.
- net shift: agree share in period B minus period A, in percentage points, Newcombe interval and pooled z-test;
  `loyalty_shift` flips the sign of reverse-coded items so that positive always means "more loyal".
- loyalty index (per response, then averaged per group with a t-interval):
      index = mean over items of 100 * (x - lo) / (hi - lo),  with x replaced by lo + hi - x for reverse items
  so 0 = least loyal answer on every item, 100 = most loyal on every item. Only responses that answered every
  item count (listwise: the index of a partial battery would not be comparable).
- loyalty segment (per response): `truly_loyal` when the rule holds (default: preferred_brand >= 4,
  buy_on_offer <= 2, cheaper_to_save <= 2), else `price_driven` when the respondent agrees with any
  reverse-coded item, else `other`.

Only aggregated counts leave the warehouse; the intervals are computed by `momenti.engines.stats`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import ibis
import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.scores import query
from momenti.insights.scores.compare import parse_period
from momenti.insights.scores.query import PERIODS, check_scope
from momenti.insights.scores.segments import DERIVED_ORDER, column_name
from momenti.warehouse.connection import WarehouseConnection

DEFAULT_ITEMS = ("loy_preferred_brand", "loy_buy_on_offer", "loy_cheaper_to_save")
DEFAULT_REVERSE = ("loy_buy_on_offer", "loy_cheaper_to_save")
DEFAULT_LOYAL_RULE = "loy_preferred_brand>=4,loy_buy_on_offer<=2,loy_cheaper_to_save<=2"
LOYALTY_SEGMENT = "loyalty_segment"
SEGMENTS = ("truly_loyal", "price_driven", "other")
_OPS = {">=": lambda c, v: c >= v, "<=": lambda c, v: c <= v, ">": lambda c, v: c > v,
        "<": lambda c, v: c < v, "=": lambda c, v: c == v, "==": lambda c, v: c == v}


@dataclass(frozen=True)
class Condition:
    item: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.item}{self.op}{self.value:g}"


def parse_rule(rule: str | Sequence[Condition] | dict[str, str] | None) -> tuple[Condition, ...]:
    """'item>=4,item2<=2' (or a dict {item: '>=4'}) -> conditions that must all hold."""
    if rule is None:
        rule = DEFAULT_LOYAL_RULE
    if isinstance(rule, dict):
        rule = ",".join(f"{k}{v}" for k, v in rule.items())
    if not isinstance(rule, str):
        return tuple(rule)
    out = []
    for part in (p.strip() for p in rule.split(",")):
        if not part:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(>=|<=|==|=|>|<)\s*(-?\d+(?:\.\d+)?)", part)
        if not m:
            raise InputError(f"loyal rule {part!r}: write item>=4 or item<=2 (comma separated)")
        out.append(Condition(m[1], m[2], float(m[3])))
    if not out:
        raise InputError("loyal rule is empty: give at least one condition such as loy_preferred_brand>=4")
    return tuple(out)


def _names(value: Sequence[str] | str | None, default: Sequence[str]) -> tuple[str, ...]:
    if value is None:
        return tuple(default)
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v and v.strip())


@dataclass(frozen=True)
class Battery:
    """Which questions form the battery and how to read them."""

    items: tuple[str, ...] = DEFAULT_ITEMS
    reverse: tuple[str, ...] = DEFAULT_REVERSE
    scale: tuple[float, float] = (1.0, 5.0)
    agree_min: float = 4.0
    loyal: tuple[Condition, ...] = field(default_factory=lambda: parse_rule(DEFAULT_LOYAL_RULE))

    @classmethod
    def make(cls, items: Sequence[str] | str | None = None, reverse: Sequence[str] | str | None = None,
             scale: Sequence[float] = (1, 5), agree_min: float = 4,
             loyal: str | Sequence[Condition] | dict[str, str] | None = None) -> Battery:
        its = _names(items, DEFAULT_ITEMS)
        # Defaults only ever name the demo's keys: a battery with other keys has no reverse item and no
        # truly-loyal rule unless it declares them (only the index and the segments need the rule).
        rev = _names(reverse, [k for k in DEFAULT_REVERSE if k in its])
        default_rule = parse_rule(None)
        if loyal is None:
            rule = default_rule if all(c.item in its for c in default_rule) else ()
        else:
            rule = parse_rule(loyal)
        b = cls(its, rev, (float(scale[0]), float(scale[1])), float(agree_min), rule)
        b.check()
        return b

    def check(self) -> None:
        if not self.items:
            raise InputError("give at least one battery item")
        if len(set(self.items)) != len(self.items):
            raise InputError("a battery item is repeated")
        if unknown := [r for r in self.reverse if r not in self.items]:
            raise InputError(f"reverse-coded item(s) {', '.join(unknown)} are not among the items "
                             f"({', '.join(self.items)})")
        lo, hi = self.scale
        if not lo < hi:
            raise InputError(f"scale {lo:g}-{hi:g}: the minimum must be below the maximum")
        if not lo <= self.agree_min <= hi:
            raise InputError(f"agree_min {self.agree_min:g} is outside the scale {lo:g}-{hi:g}")
        if unknown := [c.item for c in self.loyal if c.item not in self.items]:
            raise InputError(f"loyal rule item(s) {', '.join(unknown)} are not among the battery items")


@dataclass(frozen=True)
class Scope:
    by: list[str] = field(default_factory=list)
    period: str | None = None
    start: dt.date | None = None  # inclusive
    end: dt.date | None = None  # inclusive
    filters: dict[str, list[str]] = field(default_factory=dict)

    def check(self, allow_loyalty_segment: bool = False) -> None:
        check_scope(self.by, self.filters, self.period, self.start, self.end,
                    extra=(LOYALTY_SEGMENT,) if allow_loyalty_segment else ())

    @property
    def key_columns(self) -> list[str]:
        return [column_name(d) for d in self.by]

    @property
    def keys(self) -> list[str]:
        return [*self.key_columns, *(["period"] if self.period else [])]


# --- warehouse relations --------------------------------------------------------------------------------


def check_questions(wh: WarehouseConnection, questions: Sequence[str]) -> None:
    """A misspelt item would silently give an empty table: name it instead."""
    q = wh.table("questions")
    known = set(q.filter(q.question.isin(list(questions))).question.to_pandas())
    if missing := [k for k in questions if k not in known]:
        raise InputError(f"no question {', '.join(missing)} in this workspace's answers; check the question keys")


def answers(wh: WarehouseConnection, scope: Scope, questions: Sequence[str]) -> ibis.Table:
    """Answers to `questions` inside the scope's dates, with a `ts` column."""
    check_questions(wh, questions)
    a = wh.table("answers")
    a = a.filter(a.question.isin(list(questions)))
    a = a.mutate(ts=a.submitted_at)
    if scope.start is not None:
        a = a.filter(a.ts >= ibis.literal(scope.start))
    if scope.end is not None:
        a = a.filter(a.ts < ibis.literal(scope.end + dt.timedelta(days=1)))
    return a


def add_dimensions(wh: WarehouseConnection, t: ibis.Table, scope: Scope) -> ibis.Table:
    """Join the columns `by` and `filters` need (journey map, customer attributes) and apply the filters.
    `loyalty_segment` is not joined here: the caller provides it."""
    return query.add_dimensions(wh, t, scope.by, scope.filters)


def group_columns(t: ibis.Table, scope: Scope) -> dict[str, ibis.Expr]:
    groups = {c: t[c] for c in scope.key_columns}
    if scope.period:
        groups["period"] = t.ts.cast("timestamp").truncate(PERIODS[scope.period]).cast("date")
    return groups


def responses(wh: WarehouseConnection, battery: Battery, scope: Scope, customer_id: str | None = None) -> ibis.Table:
    """One row per response that answered every battery item: context columns, the items (as i0, i1, ...),
    `loyalty_index` (0-100) and `loyalty_segment`. `customer_id`: one customer's only (a timeline's header)."""
    if not battery.loyal:
        raise InputError("a custom battery needs a truly-loyal rule: loyal='my_item>=4,other_item<=2'")
    a = answers(wh, scope, battery.items)
    if customer_id is not None:
        a = a.filter(a.customer_id == customer_id)
    a = a.filter(a.value_num.notnull())
    cols = {f"i{j}": (a.question == k).ifelse(a.value_num, ibis.null()).max() for j, k in enumerate(battery.items)}
    r = a.group_by("response_id", "customer_id", "touchpoint", "channel", "language", "ts").aggregate(**cols)
    r = r.filter(ibis.and_(*[r[c].notnull() for c in cols]))
    lo, hi = battery.scale
    col = {k: r[f"i{j}"] for j, k in enumerate(battery.items)}
    rescaled = [((hi - col[k]) if k in battery.reverse else (col[k] - lo)) * (100.0 / (hi - lo))
                for k in battery.items]
    index = rescaled[0]
    for x in rescaled[1:]:
        index = index + x
    loyal = ibis.and_(*[_OPS[c.op](col[c.item], c.value) for c in battery.loyal])
    cases = [(loyal, "truly_loyal")]
    if battery.reverse:
        cases.append((ibis.or_(*[col[k] >= battery.agree_min for k in battery.reverse]), "price_driven"))
    return r.mutate(loyalty_index=index / len(battery.items), loyalty_segment=ibis.cases(*cases, else_="other"))


# --- finishing aggregated counts ----------------------------------------------------------------------


def clean_groups(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    df = df.copy()
    for c in df.columns:
        if c not in keys and c not in ("item", "level"):
            df[c] = pd.to_numeric(df[c])
    if "period" in df:
        df["period"] = pd.to_datetime(df["period"]).dt.strftime("%Y-%m-%d")
    return df


def sort_groups(df: pd.DataFrame, cols: list[str], order: dict[str, dict] | None = None) -> pd.DataFrame:
    # Derived segments (lifecycle, tenure) in their natural order, not alphabetically.
    order = {**{f"segment_{k}": {v: i for i, v in enumerate(vals)} for k, vals in DERIVED_ORDER.items()},
             LOYALTY_SEGMENT: {v: i for i, v in enumerate(SEGMENTS)}, **(order or {})}

    def key(col: pd.Series) -> pd.Series:
        return col.map(order[col.name]).fillna(len(order[col.name])) if col.name in order else col

    return df.sort_values(cols, key=key, kind="stable").reset_index(drop=True) if cols else df


def battery_counts(wh: WarehouseConnection, battery: Battery, scope: Scope) -> pd.DataFrame:
    """item, keys..., n, agree, total (sum of scores): aggregated in the warehouse."""
    a = answers(wh, scope, battery.items)
    a = add_dimensions(wh, a.filter(a.value_num.notnull()), scope)
    groups = {"item": a.question, **group_columns(a, scope)}
    expr = a.group_by(**groups).aggregate(n=a.count(), agree=(a.value_num >= battery.agree_min).ifelse(1, 0).sum(),
                                          total=a.value_num.sum())
    df = clean_groups(expr.to_pandas(), scope.keys)
    order = {"item": {k: i for i, k in enumerate(battery.items)}}
    return sort_groups(df, ["item", *scope.keys], order)


def battery(wh: WarehouseConnection, spec: Battery, scope: Scope, confidence: float = 0.95,
            min_n: int = 30) -> pd.DataFrame:
    """Share agreeing per item, group and period: n, agree, agree_pct with Wilson ci_low/ci_high, mean_score."""
    scope.check()
    df = battery_counts(wh, spec, scope)
    cols = ["item", "reverse", *scope.keys, "n", "agree", "agree_pct", "ci_low", "ci_high", "mean_score",
            "small_sample"]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    pct, lo, hi = stats.wilson(df["agree"].to_numpy(float), df["n"].to_numpy(float), confidence)
    df = df.assign(reverse=df["item"].isin(spec.reverse), agree_pct=pct, ci_low=lo, ci_high=hi,
                   mean_score=df["total"] / df["n"], small_sample=df["n"] < min_n)
    return df.astype({"n": "int64", "agree": "int64"})[cols]


def net_shift(wh: WarehouseConnection, spec: Battery, scope: Scope, periods: tuple[str, str] | None = None,
              confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """Agree share of period B minus period A per item and group, in percentage points.

    With `periods` (two labels parse_period understands: 2026-Q1, 2026-03, 2026-01..2026-02): B against A.
    Otherwise `scope.period` must be set and each period is compared with the previous one present."""
    scope.check()
    keys = scope.key_columns
    if periods:
        (sa, ea, la), (sb, eb, lb) = parse_period(periods[0]), parse_period(periods[1])
        a = battery_counts(wh, spec, replace(scope, period=None, start=sa, end=ea)).assign(period=la)
        b = battery_counts(wh, spec, replace(scope, period=None, start=sb, end=eb)).assign(period=lb)
        both = a.merge(b, on=["item", *keys], suffixes=("_a", "_b"))
    else:
        if not scope.period:
            raise InputError("net shift needs two periods (A B) or a period (each against the one before)")
        counts = battery_counts(wh, spec, scope)
        prev = counts.groupby(["item", *keys], sort=False, dropna=False).shift(1)
        both = counts.add_suffix("_b").rename(columns={f"{k}_b": k for k in ["item", *keys]})
        both = both.join(prev.add_suffix("_a")).dropna(subset=["n_a"])
    cols = ["item", "reverse", *keys, "period_a", "period_b", "n_a", "n_b", "agree_pct_a", "agree_pct_b",
            "net_shift", "ci_low", "ci_high", "z", "p_value", "significant", "loyalty_shift", "small_sample"]
    if both.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    ka, na, kb, nb = (both[c].to_numpy(float) for c in ("agree_a", "n_a", "agree_b", "n_b"))
    delta, lo, hi, z, p = stats.proportion_diff(ka, na, kb, nb, confidence)
    # Nobody (or everybody) agreeing in both periods: the pooled z is 0/0, but there is plainly no shift.
    same = ((ka == 0) & (kb == 0)) | ((ka == na) & (kb == nb))
    z, p = np.where(same, 0.0, z), np.where(same, 1.0, p)
    rev = both["item"].isin(spec.reverse).to_numpy()
    out = both.assign(reverse=rev, agree_pct_a=100 * ka / na, agree_pct_b=100 * kb / nb, net_shift=delta,
                      ci_low=lo, ci_high=hi, z=z, p_value=p, significant=p < (1 - confidence),
                      loyalty_shift=np.where(rev, -delta, delta), small_sample=(na < min_n) | (nb < min_n))
    return out.astype({"n_a": "int64", "n_b": "int64"})[cols].reset_index(drop=True)


def loyalty_index(wh: WarehouseConnection, spec: Battery, scope: Scope, confidence: float = 0.95,
                  min_n: int = 30) -> pd.DataFrame:
    """Per group: n (complete batteries), loyalty_index (0-100) with a t-interval, sd, and the share of each
    loyalty segment (truly_loyal_pct and price_driven_pct with Wilson intervals)."""
    scope.check(allow_loyalty_segment=True)
    r = add_dimensions(wh, responses(wh, spec, scope), scope)
    groups = group_columns(r, scope)
    seg = r.loyalty_segment
    aggs = {"n": r.count(), "total": r.loyalty_index.sum(), "total_sq": (r.loyalty_index * r.loyalty_index).sum(),
            "truly_loyal": (seg == "truly_loyal").ifelse(1, 0).sum(),
            "price_driven": (seg == "price_driven").ifelse(1, 0).sum()}
    expr = r.group_by(**groups).aggregate(**aggs) if groups else r.aggregate(**aggs)
    df = sort_groups(clean_groups(expr.to_pandas(), scope.keys), scope.keys)
    df = df[df["n"].fillna(0) > 0].reset_index(drop=True)
    cols = [*scope.keys, "n", "loyalty_index", "ci_low", "ci_high", "sd", "truly_loyal", "truly_loyal_pct",
            "truly_loyal_ci_low", "truly_loyal_ci_high", "price_driven", "price_driven_pct", "price_driven_ci_low",
            "price_driven_ci_high", "small_sample"]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    n = df["n"].to_numpy(float)
    mean, lo, hi, sd = stats.mean_t(n, df["total"].to_numpy(float), df["total_sq"].to_numpy(float), confidence)
    tl, tl_lo, tl_hi = stats.wilson(df["truly_loyal"].to_numpy(float), n, confidence)
    pdv, pd_lo, pd_hi = stats.wilson(df["price_driven"].to_numpy(float), n, confidence)
    df = df.assign(loyalty_index=mean, ci_low=lo, ci_high=hi, sd=sd, truly_loyal_pct=tl, truly_loyal_ci_low=tl_lo,
                   truly_loyal_ci_high=tl_hi, price_driven_pct=pdv, price_driven_ci_low=pd_lo,
                   price_driven_ci_high=pd_hi, small_sample=n < min_n)
    return df.astype({"n": "int64", "truly_loyal": "int64", "price_driven": "int64"})[cols]


def latest_per_customer(r: ibis.Table) -> ibis.Table:
    """Each customer's most recent battery response (`responses` rows; ties: the larger response id)."""
    rank = ibis.row_number().over(group_by=r.customer_id, order_by=[ibis.desc(r.ts), ibis.desc(r.response_id)])
    r = r.mutate(_rank=rank)
    return r.filter(r._rank == 0)


def customer_segments(wh: WarehouseConnection, spec: Battery, scope: Scope, customer_id: str | None = None
                      ) -> pd.DataFrame:
    """Per customer, their most recent complete battery in the scope: customer_id, response_id, submitted_at,
    the item scores (named by their keys), loyalty_index and loyalty_segment."""
    return customer_segments_expr(wh, spec, scope, customer_id).to_pandas().reset_index(drop=True)


def customer_segments_expr(wh: WarehouseConnection, spec: Battery, scope: Scope, customer_id: str | None = None
                           ) -> ibis.Table:
    """The expression of `customer_segments` (a caller may compile it once and reuse its SQL)."""
    scope.check()
    r = responses(wh, spec, scope, customer_id)
    r = latest_per_customer(add_dimensions(wh, r.filter(r.customer_id.notnull()), scope))
    # The response as the company knows it (its imported id), not the warehouse's surrogate key.
    ids = wh.table("responses").select(_rid=lambda t: t.id, _ext=lambda t: t.external_id)
    r = r.left_join(ids, r.response_id == ids._rid)
    expr = r.select("customer_id", response_id=ibis.coalesce(r._ext, r.response_id.cast("string")), submitted_at=r.ts,
                    **{k: r[f"i{j}"] for j, k in enumerate(spec.items)},
                    loyalty_index=r.loyalty_index, loyalty_segment=r.loyalty_segment).order_by("customer_id")
    return expr
