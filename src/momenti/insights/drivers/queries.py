"""Moments-of-truth queries: drivers, penalty_reward, quadrant, dissonance, weakest_link."""

from __future__ import annotations

from typing import Literal

from momenti.insights.query import Day, Dims, Filters, Period, Query, register


class _Driven(Query):
    outcome: str = "nps"
    drivers: Dims = None
    start: Day = None
    end: Day = None
    filters: Filters = None


@register
class DriversQuery(_Driven):
    """Key drivers of the outcome with bootstrap intervals."""

    kind: Literal["drivers"] = "drivers"
    shortcut = "drivers"
    method: Literal["relative_weights", "shapley"] = "relative_weights"
    by: Dims = None
    period: Period = None
    missing: Literal["listwise", "pairwise"] = "pairwise"
    bootstrap: int = 1000
    seed: int = 0


@register
class PenaltyRewardQuery(_Driven):
    """Penalty, reward and impact asymmetry per driver."""

    kind: Literal["penalty_reward"] = "penalty_reward"
    shortcut = "penalty_reward"
    low: float | None = None
    high: float | None = None
    by: Dims = None
    period: Period = None
    missing: Literal["indicator", "listwise"] = "indicator"


@register
class QuadrantQuery(_Driven):
    """Moments-of-truth map: importance vs performance."""

    kind: Literal["quadrant"] = "quadrant"
    shortcut = "quadrant"
    method: Literal["relative_weights", "shapley"] = "relative_weights"
    performance: Literal["rating", "nps", "csat", "ces"] = "rating"
    missing: Literal["listwise", "pairwise"] = "pairwise"
    bootstrap: int = 200
    seed: int = 0


@register
class DissonanceQuery(_Driven):
    """Outcome gap of one negative moment vs all positive, per touchpoint."""

    kind: Literal["dissonance"] = "dissonance"
    shortcut = "dissonance"
    negative: float | None = None


@register
class WeakestLinkQuery(_Driven):
    """Weakest link vs average: mean, min and both as predictors of the outcome."""

    kind: Literal["weakest_link"] = "weakest_link"
    shortcut = "weakest_link"
