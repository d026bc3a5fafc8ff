"""Loyalty battery, net shifts, loyalty index and price-switch thresholds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from momenti.core.args import as_date, as_list, parse_filters
from momenti.insights.base import WorkspaceQuestions
from momenti.insights.loyalty import battery as loy
from momenti.insights.loyalty import price as lp

Names = Sequence[str] | str | None
DateLike = dt.date | str | None
Rule = str | dict[str, str] | None
SEGMENT_PLACEHOLDER = "momenti-customer-placeholder-5f1c"
_SEGMENT_SQL: dict[str, str] = {}  # backend name -> the compiled SQL of one customer's segment


class LoyaltyQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings).

    The battery is named by its question keys (`items`, default the demo's loy_preferred_brand,
    loy_buy_on_offer, loy_cheaper_to_save); `reverse` declares the items where agreeing means LESS loyal
    (default: loy_buy_on_offer and loy_cheaper_to_save when they are among the items; other keys are never
    assumed reverse-coded: declare them, or pass [] for none). `scale` is the answer scale (default 1-5) and
    `agree_min` the lowest score that counts as agreeing. `loyal` is the truly-loyal rule (default
    loy_preferred_brand>=4,loy_buy_on_offer<=2,loy_cheaper_to_save<=2 when those items are in the battery).
    `by` and `filters` take touchpoint, stage, journey, channel, language and segment:<attr>; the index and the
    price gap also take `loyalty_segment`. `period` groups by day/week/month/quarter/year; `start`/`end` bound the
    answer date (inclusive). See docs/loyalty.md for the formulas.
    """

    def _loyalty_spec(self, items: Names = None, reverse: Names = None, scale: Sequence[float] = (1, 5),
                      agree_min: float = 4, loyal: Rule = None) -> loy.Battery:
        return loy.Battery.make(items, reverse, scale, agree_min, loyal)

    @staticmethod
    def _loyalty_scope(by: Names, period: str | None, start: DateLike, end: DateLike,
                       filters: dict[str, list[str]] | None) -> loy.Scope:
        return loy.Scope(as_list(by), period, as_date(start), as_date(end), parse_filters(filters))

    def loyalty_battery(self, items: Names = None, by: Names = None, period: str | None = None,
                        start: DateLike = None, end: DateLike = None, filters: dict[str, list[str]] | None = None,
                        agree_min: float = 4, reverse: Names = None) -> pd.DataFrame:
        """Share agreeing per item, group and period: item, reverse, keys..., n, agree, agree_pct, ci_low, ci_high
        (Wilson), mean_score, small_sample (n < settings.min_n)."""
        spec = self._loyalty_spec(items, reverse, agree_min=agree_min)
        with self.warehouse() as wh:
            return loy.battery(wh, spec, self._loyalty_scope(by, period, start, end, filters),
                               self.settings.confidence, self.settings.min_n)

    def net_shift(self, items: Names = None, periods: tuple[str, str] | Sequence[str] | None = None,
                  period: str | None = None, by: Names = None, filters: dict[str, list[str]] | None = None,
                  agree_min: float = 4, reverse: Names = None) -> pd.DataFrame:
        """Net shift of the agree share between two periods, per item and group, in percentage points:
        item, reverse, keys..., period_a, period_b, n_a, n_b, agree_pct_a, agree_pct_b, net_shift, ci_low, ci_high
        (Newcombe), z, p_value (pooled z-test), significant, loyalty_shift (sign flipped for reverse items, so
        positive = more loyal), small_sample. `periods=("2026-Q1", "2026-Q2")`: B against A; or
        `period="quarter"`: each period against the previous one."""
        spec = self._loyalty_spec(items, reverse, agree_min=agree_min)
        pair = None
        if periods:
            if len(periods) != 2:
                from momenti.core.errors import InputError

                raise InputError(f"periods: give exactly two (got {len(periods)}), e.g. 2026-Q1 2026-Q2")
            pair = (str(periods[0]), str(periods[1]))
        scope = self._loyalty_scope(by, None if pair else period, None, None, filters)
        with self.warehouse() as wh:
            return loy.net_shift(wh, spec, scope, pair, self.settings.confidence,
                                 self.settings.min_n)

    def loyalty_index(self, items: Names = None, reverse: Names = None, by: Names = None, period: str | None = None,
                      start: DateLike = None, end: DateLike = None, filters: dict[str, list[str]] | None = None,
                      scale: Sequence[float] = (1, 5), agree_min: float = 4, loyal: Rule = None) -> pd.DataFrame:
        """Loyalty index 0-100 (mean of the items rescaled to 0-100, reverse items flipped; complete batteries
        only) per group with a t-interval, and the loyalty segments' shares: keys..., n, loyalty_index, ci_low,
        ci_high, sd, truly_loyal, truly_loyal_pct (+ Wilson ci), price_driven, price_driven_pct (+ ci),
        small_sample. `loyal`: the truly-loyal rule, e.g. "loy_preferred_brand>=4,loy_buy_on_offer<=2"."""
        spec = self._loyalty_spec(items, reverse, scale, agree_min, loyal)
        with self.warehouse() as wh:
            return loy.loyalty_index(wh, spec, self._loyalty_scope(by, period, start, end, filters),
                                     self.settings.confidence, self.settings.min_n)

    def loyalty_segments(self, items: Names = None, reverse: Names = None, start: DateLike = None,
                         end: DateLike = None, filters: dict[str, list[str]] | None = None,
                         scale: Sequence[float] = (1, 5), agree_min: float = 4, loyal: Rule = None,
                         customer_id: str | None = None) -> pd.DataFrame:
        """Per customer, from their most recent complete battery: customer_id, response_id, submitted_at, the
        item scores, loyalty_index, loyalty_segment (truly_loyal / price_driven / other). `customer_id`: one
        customer's row only."""
        spec = self._loyalty_spec(items, reverse, scale, agree_min, loyal)
        with self.warehouse() as wh:
            return loy.customer_segments(wh, spec, self._loyalty_scope(None, None, start, end, filters), customer_id)

    def loyalty_segment_sql(self, wh: Any) -> str:
        """The SQL of one customer's default loyalty segment, with PLACEHOLDER (a string literal) where the
        customer's id goes: compiled once per warehouse backend, so a timeline's header costs a query, not an
        Ibis compile (70 ms)."""
        key = wh.ibis.name
        hit = _SEGMENT_SQL.get(key)
        if hit is None:
            spec = self._loyalty_spec(None, None, (1, 5), 4, None)
            expr = loy.customer_segments_expr(wh, spec, self._loyalty_scope(None, None, None, None, None),
                                              SEGMENT_PLACEHOLDER)
            hit = _SEGMENT_SQL[key] = str(wh.ibis.compile(expr))
        return hit

    def price_gap(self, question: str = "price_switch", by: Names = None, period: str | None = None,
                  start: DateLike = None, end: DateLike = None, filters: dict[str, list[str]] | None = None,
                  levels: Names = None, never: str | None = "never", within: str = "10", loyal_above: str = "25",
                  view: str = "summary", items: Names = None, reverse: Names = None, loyal: Rule = None,
                  scale: Sequence[float] = (1, 5), agree_min: float = 4) -> pd.DataFrame:
        """Price-switch threshold per group. view="summary": keys..., n, n_unmatched, median_gap, switch_within,
        switch, switch_pct (+ Wilson ci: would switch at a gap <= `within`), loyal_above, loyal, loyal_pct (+ ci:
        would not switch even at `loyal_above`), small_sample. view="distribution": keys..., level, n, count,
        share_pct, ci_low, ci_high, cum_pct, cum_ci_low, cum_ci_high (switch at <= level), small_sample.
        `by=["loyalty_segment"]` uses the battery (items/reverse/loyal) of the same response."""
        spec = lp.PriceGap.make(question, as_list(levels) or None, never, within, loyal_above)
        battery = self._loyalty_spec(items, reverse, scale, agree_min, loyal)
        with self.warehouse() as wh:
            return lp.price_gap(wh, spec, self._loyalty_scope(by, period, start, end, filters), battery, view,
                                self.settings.confidence, self.settings.min_n)

