"""Answers of GET /api/v1/metrics/{metric} and /compare."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from momenti.server.schemas.base import Count, Num, OpenRow


class MetricRow(OpenRow):
    """One group: its keys (touchpoint, period, ...), then n, counts, the score and its interval."""

    n: int
    promoters: Count = Field(None, description="nps: answers 9-10")
    passives: Count = Field(None, description="nps: answers 7-8")
    detractors: Count = Field(None, description="nps: answers 0-6")
    satisfied: Count = Field(None, description="csat: answers 4-5")
    mean_score: Num = Field(None, description="csat: mean answer")
    easy: Count = Field(None, description="ces: answers 5-7")
    sd: Num = Field(None, description="ces: standard deviation")
    easy_pct: Num = Field(None, description="ces: % easy, with its Wilson interval")
    easy_ci_low: Num = None
    easy_ci_high: Num = None
    nps: Num = None
    csat: Num = Field(None, description="Top-2-box %")
    ces: Num = Field(None, description="Mean effort score")
    ci_low: Num = None
    ci_high: Num = None
    small_sample: bool = Field(..., description="n below MOMENTI_MIN_N: read the interval, not the point")


class MetricQueryPublic(BaseModel):
    by: list[str]
    period: str | None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None
    filters: dict[str, list[str]]
    question: str

    model_config = ConfigDict(populate_by_name=True)


class MetricPublic(BaseModel):
    metric: str
    query: MetricQueryPublic
    rows: list[MetricRow]


class CompareRow(OpenRow):
    """One group's change from period_a to period_b: the metric's score in each,
    delta with its interval, p_value, significant."""

    period_a: str
    period_b: str
    n_a: Count
    n_b: Count
    nps_a: Num = None
    nps_b: Num = None
    csat_a: Num = None
    csat_b: Num = None
    ces_a: Num = None
    ces_b: Num = None
    delta: Num
    ci_low: Num
    ci_high: Num
    p_value: Num
    significant: bool
    small_sample: bool


class ComparePublic(BaseModel):
    metric: str
    rows: list[CompareRow]
