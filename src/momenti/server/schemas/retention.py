"""Answers of GET /api/v1/analysis/retention/km, /logrank and /cox."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from momenti.server.schemas.base import Count, Num, Row


class KmRow(Row):
    group: str
    time: float = Field(..., description="Days")
    survival: Num
    ci_low: Num
    ci_high: Num
    at_risk: int
    events: int
    censored: int


class KmPublic(BaseModel):
    by: str
    as_of: dt.date | None
    observed_from: str | None = Field(..., description="auto, a day, or null (none)")
    clock: str
    nps_touchpoint: str
    unit: str
    rows: list[KmRow]


class LogrankRow(Row):
    group: str
    n: int
    events: int
    censored: int
    median_days: Num
    median_ci_low: Num
    median_ci_high: Num
    survival_1y: Num
    chi2: Num = Field(..., description="Log-rank test across the groups (the same on every row)")
    df: Count
    p_value: Num
    small_sample: bool


class LogrankPublic(BaseModel):
    by: str
    as_of: dt.date | None
    observed_from: str | None
    clock: str
    nps_touchpoint: str
    rows: list[LogrankRow]


class CoxRow(Row):
    covariate: str
    hazard_ratio: Num
    ci_low: Num
    ci_high: Num
    p_value: Num
    coef: Num
    se: Num
    n: int
    events: int
    concordance: Num


class CoxPublic(BaseModel):
    covariates: str
    as_of: dt.date | None
    observed_from: str | None
    clock: str
    rows: list[CoxRow]
