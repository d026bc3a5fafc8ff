"""Loyalty battery, net shifts, loyalty index and price-switch thresholds.

GET /api/v1/analysis/loyalty/battery, /netshift, /index, /price-gap and /segments: the same questions as
`momenti loyalty ...`, as JSON ({"query": ..., "rows": [...]}). Thin: each route calls the workspace method.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from momenti.core.args import parse_filters
from momenti.core.errors import InputError
from momenti.core.frames import records
from momenti.server.api.metrics import From, Period, To
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import BatteryPublic, IndexPublic, NetShiftPublic, PriceGapPublic, SegmentsPublic

router = APIRouter(prefix="/api/v1/analysis/loyalty", tags=["loyalty"])

Items = Annotated[str | None, Query(description="Comma list of battery question keys (default: "
                                                "loy_preferred_brand,loy_buy_on_offer,loy_cheaper_to_save)")]
Reverse = Annotated[str | None, Query(description="Comma list of reverse-coded items (agreeing = less loyal); "
                                                  "absent: loy_buy_on_offer,loy_cheaper_to_save when among the items; "
                                                  "empty: none")]
By = Annotated[str, Query(description="Comma list of touchpoint, stage, journey, channel, language, "
                                      "segment:<attribute> (index and price-gap: also loyalty_segment)")]
Filters = Annotated[list[str], Query(alias="filter", description="dimension:value[,value] (repeatable), e.g. "
                                     "segment:segment:young or loyalty_segment:truly_loyal")]
AgreeMin = Annotated[float, Query(description="Lowest score that counts as agreeing")]
Loyal = Annotated[str | None, Query(description="Truly-loyal rule, e.g. loy_preferred_brand>=4,"
                                                "loy_buy_on_offer<=2,loy_cheaper_to_save<=2 (the default)")]
ScaleMin = Annotated[float, Query(description="Lowest answer on the scale")]
ScaleMax = Annotated[float, Query(description="Highest answer on the scale")]


def _json(query: dict, df) -> dict:  # noqa: ANN001 - a DataFrame
    return {"query": query, "rows": records(df)}


@router.get("/battery", response_model=BatteryPublic, response_model_exclude_unset=True,
            summary="Share agreeing per loyalty item, group and period")
def battery(ws: WorkspaceDep, items: Items = None, reverse: Reverse = None, by: By = "",
            period: Period | None = None, start: From = None, end: To = None, agree_min: AgreeMin = 4,
            filters: Filters = []) -> dict:  # noqa: B006
    """Per item, group and period: `n`, `agree`, `agree_pct` with a Wilson interval (`ci_low`, `ci_high`),
    `mean_score`, `reverse` (agreeing = less loyal) and `small_sample`."""
    df = ws.loyalty_battery(items=items, by=by, period=period, start=start, end=end, filters=parse_filters(filters),
                            agree_min=agree_min, reverse=reverse)
    return _json({"items": items, "by": by, "period": period, "from": start, "to": end, "agree_min": agree_min}, df)


@router.get("/netshift", response_model=NetShiftPublic, response_model_exclude_unset=True,
            summary="Net shift of the % agreeing between two periods")
def netshift(ws: WorkspaceDep, items: Items = None, reverse: Reverse = None, by: By = "",
             period: Period | None = None,
             periods: Annotated[list[str], Query(description="Exactly two periods (B against A): 2026-Q1, "
                                                 "2026-03, 2026-W05, 2026 or A..B ranges")] = [],  # noqa: B006
             agree_min: AgreeMin = 4, filters: Filters = []) -> dict:  # noqa: B006
    """Per item and group: `net_shift` (points, B - A) with a Newcombe interval, `z`, `p_value`, `significant`,
    and `loyalty_shift` (sign flipped for reverse-coded items: positive = more loyal). With `period` each period
    is compared with the one before."""
    if periods and len(periods) != 2:
        raise InputError(f"periods: give exactly two (got {len(periods)}), e.g. periods=2026-Q1&periods=2026-Q2")
    df = ws.net_shift(items=items, periods=periods or None, period=period, by=by, filters=parse_filters(filters),
                      agree_min=agree_min, reverse=reverse)
    return _json({"items": items, "by": by, "period": period, "periods": periods, "agree_min": agree_min}, df)


@router.get("/index", response_model=IndexPublic, response_model_exclude_unset=True,
            summary="Loyalty index 0-100 and loyalty segments' shares per group")
def index(ws: WorkspaceDep, items: Items = None, reverse: Reverse = None, by: By = "", period: Period | None = None,
          start: From = None, end: To = None, scale_min: ScaleMin = 1, scale_max: ScaleMax = 5,
          agree_min: AgreeMin = 4, loyal: Loyal = None, filters: Filters = []) -> dict:  # noqa: B006
    """`loyalty_index` (mean of the items rescaled to 0-100, reverse items flipped) with a t-interval, and the
    shares of `truly_loyal` and `price_driven` respondents with Wilson intervals."""
    df = ws.loyalty_index(items=items, reverse=reverse, by=by, period=period, start=start, end=end,
                          filters=parse_filters(filters), scale=(scale_min, scale_max), agree_min=agree_min,
                          loyal=loyal)
    return _json({"items": items, "by": by, "period": period, "from": start, "to": end, "loyal": loyal}, df)


@router.get("/price-gap", response_model=PriceGapPublic, response_model_exclude_unset=True,
            summary="Price gap at which customers would switch, per group")
def price_gap(ws: WorkspaceDep, question: str = "price_switch", by: By = "", period: Period | None = None,
              start: From = None, end: To = None,
              levels: Annotated[str | None, Query(description="Ordered levels, most price-sensitive first "
                                                  "(default 5,10,15,25,50,never)")] = None,
              never: Annotated[str, Query(description="The level meaning 'would not switch'")] = "never",
              within: Annotated[str, Query(description="switch_pct: share switching at a gap <= this")] = "10",
              loyal_above: Annotated[str, Query(description="loyal_pct: share who would not switch even at "
                                                "this gap")] = "25",
              view: Literal["summary", "distribution"] = "summary", items: Items = None, reverse: Reverse = None,
              loyal: Loyal = None, filters: Filters = []) -> dict:  # noqa: B006
    """summary: per group `n`, `median_gap`, `switch_pct` (gap <= `within`) and `loyal_pct` (would not switch
    even at `loyal_above`) with Wilson intervals; distribution: per group and level `share_pct` and `cum_pct`
    (switch at <= level) with intervals."""
    df = ws.price_gap(question=question, by=by, period=period, start=start, end=end, filters=parse_filters(filters),
                      levels=levels, never=never or None, within=within, loyal_above=loyal_above, view=view,
                      items=items, reverse=reverse, loyal=loyal)
    return _json({"question": question, "by": by, "period": period, "from": start, "to": end, "within": within,
                  "loyal_above": loyal_above, "view": view}, df)


@router.get("/segments", response_model=SegmentsPublic, response_model_exclude_unset=True,
            summary="Loyalty index and segment per customer (most recent battery)")
def segments(ws: WorkspaceDep, items: Items = None, reverse: Reverse = None, start: From = None, end: To = None,
             scale_min: ScaleMin = 1, scale_max: ScaleMax = 5, agree_min: AgreeMin = 4, loyal: Loyal = None,
             filters: Filters = []) -> dict:  # noqa: B006
    """Per customer: `customer_id`, `response_id`, `submitted_at`, the item scores, `loyalty_index`,
    `loyalty_segment` (truly_loyal, price_driven or other)."""
    df = ws.loyalty_segments(items=items, reverse=reverse, start=start, end=end,
                             filters=parse_filters(filters), scale=(scale_min, scale_max), agree_min=agree_min,
                             loyal=loyal)
    return _json({"items": items, "from": start, "to": end, "loyal": loyal}, df)
