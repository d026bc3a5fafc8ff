"""Answers of process mining on the interaction log: GET /api/v1/paths/dfg, /activities, /variants, /funnel,
/instances and /loyalty. Every answer is `{"query", "rows"}`."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from momenti.server.schemas.base import Count, Num, OpenRow, Row, Stamp


class PathsQuery(BaseModel):
    """The journeys selected, then the route's own options."""

    model_config = ConfigDict(populate_by_name=True)
    case: str = Field(..., description="case_id or customer")
    gap: str | None
    start_activity: str | None
    end_activity: str | None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None
    filters: dict[str, list[str]]
    coverage: float | None
    which: str | None = Field(None, description="activities: all, start or end")
    steps: list[str] | None = Field(None, description="funnel: the steps, in order")
    mode: str | None = Field(None, description="funnel: eventually or directly")
    by: str | None = Field(None, description="loyalty: variant, activity, repeats or switches")
    question: str | None = None
    within: str | None = None


class DfgRow(Row):
    source: str
    target: str
    count: int
    mean_s: Num = Field(..., description="Seconds between the two activities")
    median_s: Num
    p90_s: Num


class ActivityRow(Row):
    activity: str
    count: int


class VariantRow(Row):
    rank: int
    variant: list[str] = Field(..., description="The activities, in order")
    length: int
    count: int
    share: Num = Field(..., description="% of journeys")
    cum_share: Num
    median_duration_s: Num
    happy_path: bool = Field(..., description="Rank 1")


class FunnelRow(OpenRow):
    step: int
    step_name: str
    n: int
    conversion_pct: Num = Field(..., description="From the previous step, with a Wilson interval")
    conversion_low: Num
    conversion_high: Num
    overall_pct: Num = Field(..., description="From step 1")
    overall_low: Num
    overall_high: Num
    dropoff: Count
    median_s: Num = Field(..., description="Seconds from the previous step")
    small_sample: bool


class InstanceRow(Row):
    case_id: str
    customer_id: str | None
    start_ts: Stamp
    end_ts: Stamp
    n_events: int
    duration_s: Num
    variant: list[str]


class PathLoyaltyRow(OpenRow):
    """by=variant: variant, share_pct; by=activity: activity, detractor_pct, lift; by=repeats / switches: that
    bucket and mean_contacts; all: n, counts, the score and its interval."""

    variant: list[str] | None = None
    activity: str | None = None
    repeats: str | None = None
    switches: str | None = None
    n: int
    mean_contacts: Num = None
    promoters: Count = None
    passives: Count = None
    detractors: Count = None
    detractor_pct: Num = None
    nps: Num = None
    ci_low: Num = None
    ci_high: Num = None
    lift: Num = Field(None, description="Detractor rate with the activity / without it")
    lift_low: Num = None
    lift_high: Num = None
    share_pct: Num = None
    small_sample: bool


class DfgPublic(BaseModel):
    query: PathsQuery
    rows: list[DfgRow]


class ActivitiesPublic(BaseModel):
    query: PathsQuery
    rows: list[ActivityRow]


class VariantsPublic(BaseModel):
    query: PathsQuery
    rows: list[VariantRow]


class FunnelPublic(BaseModel):
    query: PathsQuery
    rows: list[FunnelRow]


class InstancesPublic(BaseModel):
    query: PathsQuery
    rows: list[InstanceRow]


class PathLoyaltyPublic(BaseModel):
    query: PathsQuery
    rows: list[PathLoyaltyRow]
