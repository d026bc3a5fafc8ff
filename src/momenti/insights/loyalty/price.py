"""Price-switch thresholds: at what price gap would a customer move to a competitor?

The question (default `price_switch`) has ordered answers, the price gap in % at which the customer would
switch, plus a level meaning "would not switch" (default levels: 5, 10, 15, 25, 50, never). Per group:

- distribution: share answering each level (Wilson interval) and the cumulative share that would switch at a
  gap <= that level (Wilson interval; not defined for the "never" level);
- median gap: the first level at which the cumulative share reaches 50 % (an ordinal median: a level, not a
  number; "never" when fewer than half would switch at any stated gap);
- `switch_pct`: share switching at a gap <= `within` (default 10 %);
- `loyal_pct`: the truly loyal share, who would not switch even at `loyal_above` (default 25 %): answers in
  the levels after it (50, never).

Answers are compared after trimming, lower-casing and dropping a trailing "%"; answers that match no level are
counted in `n_unmatched` and left out of the shares. `by` also takes `loyalty_segment`: the segment from the
loyalty battery of the same response (responses without a complete battery are then left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.engines import stats
from momenti.insights.loyalty.battery import (
    LOYALTY_SEGMENT,
    Battery,
    Scope,
    add_dimensions,
    answers,
    clean_groups,
    group_columns,
    responses,
    sort_groups,
)
from momenti.warehouse.connection import WarehouseConnection

DEFAULT_LEVELS = ("5", "10", "15", "25", "50", "never")


def _norm(value: str) -> str:
    return value.strip().lower().removesuffix("%").strip()


@dataclass(frozen=True)
class PriceGap:
    question: str = "price_switch"
    levels: tuple[str, ...] = DEFAULT_LEVELS  # ordered: most price-sensitive first; the last may mean "never"
    never: str | None = "never"  # the level that means "would not switch at any gap" (no cumulative share)
    within: str = "10"
    loyal_above: str = "25"

    @classmethod
    def make(cls, question: str = "price_switch", levels: Sequence[str] | str | None = None,
             never: str | None = "never", within: str = "10", loyal_above: str = "25") -> PriceGap:
        if isinstance(levels, str):
            levels = levels.split(",")
        lv = tuple(_norm(v) for v in (levels or DEFAULT_LEVELS) if _norm(v))
        nv = _norm(never) if never else None
        p = cls(question, lv, nv if nv in lv else None, _norm(within), _norm(loyal_above))
        if len(set(lv)) != len(lv) or len(lv) < 2:
            raise InputError(f"price levels {', '.join(lv)}: give at least two distinct levels, in order")
        for name, value in (("within", p.within), ("loyal_above", p.loyal_above)):
            if value not in lv:
                raise InputError(f"{name} {value!r} is not one of the levels {', '.join(lv)}")
        if never and nv not in lv:
            raise InputError(f"never level {never!r} is not one of the levels {', '.join(lv)}")
        return p

    @property
    def switch_levels(self) -> list[str]:
        return list(self.levels[: self.levels.index(self.within) + 1])

    @property
    def loyal_levels(self) -> list[str]:
        return list(self.levels[self.levels.index(self.loyal_above) + 1:])


def _answer_level(a: ibis.Table) -> ibis.Expr:
    # A numeric store (value_num = 10) is read as its integer text; text is normalised like the levels.
    num = a.value_num.cast("int64").cast("string")
    text = a.value_text.strip().lower()
    text = text.endswith("%").ifelse(text.substr(0, text.length() - 1).strip(), text)
    return ibis.coalesce(text, num)


def level_counts(wh: WarehouseConnection, spec: PriceGap, scope: Scope, battery: Battery | None) -> pd.DataFrame:
    """keys..., level, count: one row per group and answered level (unmatched answers keep their text)."""
    a = answers(wh, scope, [spec.question])
    a = a.mutate(level=_answer_level(a))
    a = a.filter(a.level.notnull())
    if LOYALTY_SEGMENT in [*scope.by, *scope.filters]:
        seg = responses(wh, battery or Battery(), scope).select("response_id", "loyalty_segment")
        a = a.inner_join(seg, "response_id")
    a = add_dimensions(wh, a, Scope([d for d in scope.by if d != LOYALTY_SEGMENT], scope.period, scope.start,
                                    scope.end, {k: v for k, v in scope.filters.items() if k != LOYALTY_SEGMENT}))
    if LOYALTY_SEGMENT in scope.filters:
        a = a.filter(a.loyalty_segment.isin(scope.filters[LOYALTY_SEGMENT]))
    groups = {**group_columns(a, scope), "level": a.level}
    df = a.group_by(**groups).aggregate(count=a.count()).to_pandas()
    return clean_groups(df, [*scope.keys, "level"])


def _frames(spec: PriceGap, scope: Scope, counts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Group keys, a (groups x levels) count matrix, and the unmatched answers per group (aggregates only)."""
    keys = scope.keys
    if keys:
        counts = sort_groups(counts, keys)
        groups = counts[keys].drop_duplicates().reset_index(drop=True)
        gid = counts.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    else:
        groups = pd.DataFrame(index=[0])
        gid = np.zeros(len(counts), dtype=int)
    pos = counts["level"].map({lv: i for i, lv in enumerate(spec.levels)}).fillna(-1).to_numpy(int)
    c = counts["count"].to_numpy(float)
    m = pos >= 0
    mat = np.zeros((len(groups), len(spec.levels)))
    np.add.at(mat, (gid[m], pos[m]), c[m])
    unmatched = np.bincount(gid[~m], weights=c[~m], minlength=len(groups))
    return groups, mat, unmatched


def price_gap(wh: WarehouseConnection, spec: PriceGap, scope: Scope, battery: Battery | None = None,
              view: str = "summary", confidence: float = 0.95, min_n: int = 30) -> pd.DataFrame:
    """view='summary': one row per group (n, median_gap, switch_pct, loyal_pct with intervals);
    view='distribution': one row per group and level (count, share_pct, cum_pct with intervals)."""
    if view not in ("summary", "distribution"):
        raise InputError(f"view {view!r}: use summary or distribution")
    scope.check(allow_loyalty_segment=True)
    keys = scope.keys
    counts = level_counts(wh, spec, scope, battery)
    if counts.empty or not counts["level"].isin(spec.levels).any():
        return _empty(keys, view)
    groups, mat, unmatched = _frames(spec, scope, counts)
    n = mat.sum(axis=1)
    keep = n > 0
    groups, mat, unmatched, n = groups[keep].reset_index(drop=True), mat[keep], unmatched[keep], n[keep]
    cum = np.cumsum(mat, axis=1)
    stated = [i for i, lv in enumerate(spec.levels) if lv != spec.never]
    if view == "distribution":
        return _distribution(spec, groups, keys, mat, cum, n, stated, confidence, min_n)
    # The ordinal median: first level where the cumulative share reaches one half.
    reach = cum >= n[:, None] / 2
    median = [spec.levels[int(np.argmax(r))] for r in reach]
    k_switch = mat[:, : spec.levels.index(spec.within) + 1].sum(axis=1)
    k_loyal = mat[:, spec.levels.index(spec.loyal_above) + 1:].sum(axis=1)
    sw, sw_lo, sw_hi = stats.wilson(k_switch, n, confidence)
    ly, ly_lo, ly_hi = stats.wilson(k_loyal, n, confidence)
    out = groups.copy()
    out["n"] = n.astype("int64")
    out["n_unmatched"] = unmatched.astype("int64")
    out["median_gap"] = median
    out["switch_within"] = spec.within
    out["switch"] = k_switch.astype("int64")
    out["switch_pct"], out["switch_ci_low"], out["switch_ci_high"] = sw, sw_lo, sw_hi
    out["loyal_above"] = spec.loyal_above
    out["loyal"] = k_loyal.astype("int64")
    out["loyal_pct"], out["loyal_ci_low"], out["loyal_ci_high"] = ly, ly_lo, ly_hi
    out["small_sample"] = n < min_n
    return out


def _distribution(spec: PriceGap, groups: pd.DataFrame, keys: list[str], mat: np.ndarray, cum: np.ndarray,
                  n: np.ndarray, stated: list[int], confidence: float, min_n: int) -> pd.DataFrame:
    g, L = mat.shape
    nn = np.repeat(n, L)
    share, s_lo, s_hi = stats.wilson(mat.ravel(), nn, confidence)
    cpct, c_lo, c_hi = stats.wilson(cum.ravel(), nn, confidence)
    never = np.tile([i not in stated for i in range(L)], g)
    rows = np.repeat(np.arange(g), L)
    out = groups.loc[rows, keys].reset_index(drop=True) if keys else pd.DataFrame(index=range(g * L))
    out["level"] = np.tile(list(spec.levels), g)
    out["n"] = nn.astype("int64")
    out["count"] = mat.ravel().astype("int64")
    out["share_pct"], out["ci_low"], out["ci_high"] = share, s_lo, s_hi
    out["cum_pct"] = np.where(never, np.nan, cpct)
    out["cum_ci_low"] = np.where(never, np.nan, c_lo)
    out["cum_ci_high"] = np.where(never, np.nan, c_hi)
    out["small_sample"] = nn < min_n
    return out


def _empty(keys: list[str], view: str) -> pd.DataFrame:
    cols = (["level", "n", "count", "share_pct", "ci_low", "ci_high", "cum_pct", "cum_ci_low", "cum_ci_high"]
            if view == "distribution" else
            ["n", "n_unmatched", "median_gap", "switch_within", "switch", "switch_pct", "switch_ci_low",
             "switch_ci_high", "loyal_above", "loyal", "loyal_pct", "loyal_ci_low", "loyal_ci_high"])
    return pd.DataFrame({c: pd.Series(dtype=object) for c in [*keys, *cols, "small_sample"]})
