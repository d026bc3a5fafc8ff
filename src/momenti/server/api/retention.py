"""Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from momenti.core.args import Day
from momenti.core.frames import records
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import CoxPublic, KmPublic, LogrankPublic

router = APIRouter(prefix="/api/v1/analysis/retention", tags=["retention"])

By = Annotated[str, Query(description="nps_category, loyalty_segment or segment:<attribute>")]
AsOf = Annotated[Day | None, Query(description="End of observation (default: the latest time in the data)")]
ObservedFrom = Annotated[str, Query(description="auto (first response or event), none, or YYYY-MM-DD")]
Clock = Annotated[Literal["observation", "tenure"], Query(description="observation or tenure (delayed entry)")]
NpsTouchpoint = Annotated[str, Query(description="Touchpoint whose NPS makes nps_category ('all': every one)")]


def _opts(as_of: dt.date | None, observed_from: str, clock: str, nps_touchpoint: str | None = None) -> dict:
    out: dict = {"as_of": as_of, "observed_from": None if observed_from == "none" else observed_from,
                 "clock": clock}
    if nps_touchpoint is not None:
        out["nps_touchpoint"] = nps_touchpoint
    return out


@router.get("/km", response_model=KmPublic, response_model_exclude_unset=True,
            summary="Kaplan-Meier curves per group, with 95 % band and number at risk")
def km(ws: WorkspaceDep, by: By = "nps_category", as_of: AsOf = None, observed_from: ObservedFrom = "auto",
       clock: Clock = "observation", nps_touchpoint: NpsTouchpoint = "relationship-survey") -> dict:
    """Rows: group, time (days), survival, ci_low, ci_high, at_risk, events, censored."""
    opts = _opts(as_of, observed_from, clock, nps_touchpoint)
    return {"by": by, **opts, "unit": "days", "rows": records(ws.survival(by=by, **opts))}


@router.get("/logrank", response_model=LogrankPublic, response_model_exclude_unset=True,
            summary="Per group n, churned, median survival; log-rank test across groups")
def logrank(ws: WorkspaceDep, by: By = "nps_category", as_of: AsOf = None, observed_from: ObservedFrom = "auto",
            clock: Clock = "observation", nps_touchpoint: NpsTouchpoint = "relationship-survey") -> dict:
    """Rows: group, n, events, censored, median_days, median_ci_low, median_ci_high, survival_1y, chi2, df,
    p_value, small_sample."""
    opts = _opts(as_of, observed_from, clock, nps_touchpoint)
    return {"by": by, **opts, "rows": records(ws.logrank(by=by, **opts))}


@router.get("/cox", response_model=CoxPublic, response_model_exclude_unset=True,
            summary="Cox model of churn: hazard ratios with 95 % intervals")
def cox(ws: WorkspaceDep, covariates: Annotated[str, Query(description="Comma list: bad:<touchpoint>, "
                                                           "score:<touchpoint> or a numeric question key")],
        as_of: AsOf = None, observed_from: ObservedFrom = "auto", clock: Clock = "observation") -> dict:
    """Rows: covariate, hazard_ratio, ci_low, ci_high, p_value, coef, se, n, events, concordance."""
    opts = _opts(as_of, observed_from, clock)
    return {"covariates": covariates, **opts, "rows": records(ws.cox(covariates, **opts))}


@router.get("/km.svg", summary="Kaplan-Meier curves as an SVG picture", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def km_svg(ws: WorkspaceDep, by: By = "nps_category", as_of: AsOf = None, observed_from: ObservedFrom = "auto",
           clock: Clock = "observation", nps_touchpoint: NpsTouchpoint = "relationship-survey") -> Response:
    data = ws.survival_plot(by=by, fmt="svg", **_opts(as_of, observed_from, clock, nps_touchpoint))
    return Response(content=data, media_type="image/svg+xml")
