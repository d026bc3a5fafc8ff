"""Loyalty queries: battery, net_shift, index, segments, price_gap, loyalty_bank."""

from __future__ import annotations

from typing import Literal

from momenti.insights.query import Day, Dims, Filters, Period, Query, register


class _Battery(Query):
    items: Dims = None
    reverse: Dims = None
    filters: Filters = None
    agree_min: float = 4


@register
class LoyaltyBatteryQuery(_Battery):
    """Share agreeing per battery item and group."""

    kind: Literal["loyalty_battery"] = "loyalty_battery"
    shortcut = "loyalty_battery"
    by: Dims = None
    period: Period = None
    start: Day = None
    end: Day = None


@register
class NetShiftQuery(_Battery):
    """Net shift of the agree share between two periods."""

    kind: Literal["net_shift"] = "net_shift"
    shortcut = "net_shift"
    periods: tuple[str, str] | None = None
    period: Period = None
    by: Dims = None


class _Scaled(_Battery):
    start: Day = None
    end: Day = None
    scale: tuple[float, float] = (1, 5)
    loyal: str | dict[str, str] | None = None


@register
class LoyaltyIndexQuery(_Scaled):
    """Loyalty index 0-100 per group, and the loyalty segments' shares."""

    kind: Literal["loyalty_index"] = "loyalty_index"
    shortcut = "loyalty_index"
    by: Dims = None
    period: Period = None


@register
class LoyaltySegmentsQuery(_Scaled):
    """Per customer: the loyalty segment of their latest complete battery."""

    kind: Literal["loyalty_segments"] = "loyalty_segments"
    shortcut = "loyalty_segments"


@register
class PriceGapQuery(_Scaled):
    """Price-switch threshold per group (summary or distribution)."""

    kind: Literal["price_gap"] = "price_gap"
    shortcut = "price_gap"
    question: str = "price_switch"
    by: Dims = None
    period: Period = None
    levels: Dims = None
    never: str | None = "never"
    within: str = "10"
    loyal_above: str = "25"
    view: Literal["summary", "distribution"] = "summary"


@register
class LoyaltyBankQuery(Query):
    """Loyalty by the number of positive moments lived before answering (trend in attrs)."""

    kind: Literal["loyalty_bank"] = "loyalty_bank"
    shortcut = "loyalty_bank"
    outcome: str = "nps"
    outcome_touchpoint: str | None = "relationship-survey"
    buckets: list[int] = [0, 1, 2, 3, 5, 8]
    start: Day = None
    end: Day = None
