"""Answers of GET /api/v1/analysis/loyalty/battery, /netshift, /index, /price-gap and /segments."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from momenti.server.schemas.base import Count, Num, OpenRow, Stamp


class _Query(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    items: str | None = None
    by: str | None = None
    period: str | None = None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None


class BatteryQuery(_Query):
    agree_min: float


class BatteryRow(OpenRow):
    item: str
    reverse: bool = Field(..., description="Reverse-coded: agreeing = less loyal")
    n: int
    agree: Count
    agree_pct: Num
    ci_low: Num
    ci_high: Num
    mean_score: Num
    small_sample: bool


class BatteryPublic(BaseModel):
    query: BatteryQuery
    rows: list[BatteryRow]


class NetShiftQuery(_Query):
    periods: list[str]
    agree_min: float


class NetShiftRow(OpenRow):
    item: str
    reverse: bool
    period_a: str
    period_b: str
    n_a: Count
    n_b: Count
    agree_pct_a: Num
    agree_pct_b: Num
    net_shift: Num = Field(..., description="Points, B - A, with a Newcombe interval")
    ci_low: Num
    ci_high: Num
    z: Num
    p_value: Num
    significant: bool
    loyalty_shift: Num = Field(..., description="net_shift with the sign flipped for reverse-coded items")
    small_sample: bool


class NetShiftPublic(BaseModel):
    query: NetShiftQuery
    rows: list[NetShiftRow]


class IndexQuery(_Query):
    loyal: str | None = None


class IndexRow(OpenRow):
    n: int
    loyalty_index: Num = Field(..., description="0-100, with a t-interval")
    ci_low: Num
    ci_high: Num
    sd: Num
    truly_loyal: Count
    truly_loyal_pct: Num
    truly_loyal_ci_low: Num
    truly_loyal_ci_high: Num
    price_driven: Count
    price_driven_pct: Num
    price_driven_ci_low: Num
    price_driven_ci_high: Num
    small_sample: bool


class IndexPublic(BaseModel):
    query: IndexQuery
    rows: list[IndexRow]


class PriceGapQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    question: str
    by: str
    period: str | None = None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    within: str
    loyal_above: str
    view: str


class PriceGapRow(OpenRow):
    """view=summary: n_unmatched .. loyal_ci_high; view=distribution: level .. cum_ci_high."""

    level: str | None = None
    n: int
    n_unmatched: Count = Field(None, description="Answers not among the levels")
    median_gap: str | None = None
    switch_within: str | None = None
    switch: Count = None
    switch_pct: Num = None
    switch_ci_low: Num = None
    switch_ci_high: Num = None
    loyal_above: str | None = None
    loyal: Count = None
    loyal_pct: Num = None
    loyal_ci_low: Num = None
    loyal_ci_high: Num = None
    count: Count = None
    share_pct: Num = None
    ci_low: Num = None
    ci_high: Num = None
    cum_pct: Num = Field(None, description="Share switching at a gap <= level")
    cum_ci_low: Num = None
    cum_ci_high: Num = None
    small_sample: bool


class PriceGapPublic(BaseModel):
    query: PriceGapQuery
    rows: list[PriceGapRow]


class SegmentsQuery(_Query):
    loyal: str | None = None


class SegmentRow(OpenRow):
    """One customer's most recent battery; the item scores are columns named after the items."""

    customer_id: str
    response_id: str
    submitted_at: Stamp
    loyalty_index: Num
    loyalty_segment: str = Field(..., description="truly_loyal, price_driven or other")


class SegmentsPublic(BaseModel):
    query: SegmentsQuery
    rows: list[SegmentRow]
