"""Retention queries: survival (Kaplan-Meier), logrank, cox."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BeforeValidator

from momenti.insights.query import Query, register, split_dims


class _Observed(Query):
    as_of: dt.datetime | None = None
    observed_from: str | dt.datetime | None = "auto"
    clock: Literal["observation", "tenure"] = "observation"
    nps_touchpoint: str | None = "relationship-survey"


@register
class SurvivalQuery(_Observed):
    """Kaplan-Meier curves per group with Greenwood intervals."""

    kind: Literal["survival"] = "survival"
    shortcut = "survival"
    by: str | None = "nps_category"


@register
class LogrankQuery(_Observed):
    """Median survival per group and the log-rank test across groups."""

    kind: Literal["logrank"] = "logrank"
    shortcut = "logrank"
    by: str = "nps_category"


@register
class CoxQuery(_Observed):
    """Cox model of churn: hazard ratio per covariate."""

    kind: Literal["cox"] = "cox"
    shortcut = "cox"
    covariates: Annotated[list[str], BeforeValidator(split_dims)]
