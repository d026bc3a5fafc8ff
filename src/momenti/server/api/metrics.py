"""GET /api/v1/metrics/{metric} and /compare: the same questions as `momenti metrics`, as JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from momenti.core.args import FILTER_HELP, Day, parse_filters
from momenti.core.errors import InputError
from momenti.core.frames import records
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import ComparePublic, MetricPublic

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])

Metric = Literal["nps", "csat", "ces"]
Period = Literal["day", "week", "month", "quarter", "year"]
By = Annotated[str, Query(description="Comma list of touchpoint, stage, journey, channel, language, "
                                      "segment:<attribute>", examples=["touchpoint"])]
Filters = Annotated[list[str], Query(alias="filter", description=FILTER_HELP)]
Question = Annotated[str | None, Query(description="Answer key to score (default: the metric's own key)")]
From = Annotated[Day | None, Query(alias="from", description="First day, inclusive")]
To = Annotated[Day | None, Query(alias="to", description="Last day, inclusive")]


# exclude_unset: a row carries only its metric's columns, not the empty ones of the other metrics.
@router.get("/{metric}", response_model=MetricPublic, response_model_exclude_unset=True,
            summary="A score per group, with interval and n")
def metric(ws: WorkspaceDep, metric: Metric, by: By = "", period: Period | None = None, start: From = None,
           end: To = None, question: Question = None, filters: Filters = []) -> dict:  # noqa: B006
    """NPS (adjusted-Wald interval), CSAT top-2-box % (Wilson) or CES mean (t-interval) per group. Every row
    has `n`, `ci_low`, `ci_high` and `small_sample` (n below MOMENTI_MIN_N: read the interval, not the point).
    """
    q = ws.query(metric, by=by, period=period, start=start, end=end, filters=parse_filters(filters),
                 question=question)
    df = ws.run(q)
    return {"metric": metric,
            "query": {"by": q.by, "period": period, "from": start, "to": end, "filters": q.filters,
                      "question": question or metric},
            "rows": records(df)}


@router.get("/{metric}/compare", response_model=ComparePublic, response_model_exclude_unset=True,
            summary="Change between periods, with p-value")
def compare(ws: WorkspaceDep, metric: Metric, by: By = "", period: Period | None = None,
            periods: Annotated[list[str], Query(description="Exactly two periods (B against A): 2025-01, "
                                                "2025-Q1, 2025-W05, 2025 or A..B ranges")] = [],  # noqa: B006
            question: Question = None, filters: Filters = []) -> dict:  # noqa: B006
    """Per group: `delta` from period_a to period_b with its interval, `p_value`, `significant`. With `period`
    each period is compared with the one before; with two `periods`, the second with the first."""
    if periods and len(periods) != 2:
        raise InputError(f"periods: give exactly two (got {len(periods)}), e.g. periods=2025-01&periods=2025-02")
    df = ws.compare(metric, by=by, period=period, periods=(periods[0], periods[1]) if periods else None,
                    filters=parse_filters(filters), question=question)
    return {"metric": metric, "rows": records(df)}
