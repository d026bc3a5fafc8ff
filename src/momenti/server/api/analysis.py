"""Moments-of-truth analysis: key drivers, penalty-reward, quadrant, dissonance."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from momenti.core.args import parse_filters
from momenti.core.frames import records
from momenti.server.api.metrics import By, Filters, From, Period, To
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import DissonancePublic, DriversPublic, PenaltyRewardPublic, QuadrantPublic

router = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])

Outcome = Annotated[str, Query(description="Outcome question key", examples=["nps"])]
Drivers = Annotated[str, Query(description="Comma list of question or touchpoint keys, or touchpoint-ratings")]
Method = Literal["relative_weights", "shapley"]
Missing = Literal["listwise", "pairwise"]
Boot = Annotated[int, Query(ge=0, le=10_000, description="Bootstrap resamples (0: no intervals)")]


@router.get("/drivers", response_model=DriversPublic, response_model_exclude_unset=True,
            summary="Key drivers with bootstrap intervals")
def drivers(ws: WorkspaceDep, outcome: Outcome = "nps", drivers: Drivers = "touchpoint-ratings",
            method: Method = "relative_weights", by: By = "", period: Period | None = None, start: From = None,
            end: To = None, filters: Filters = [], missing: Missing = "pairwise",  # noqa: B006
            bootstrap: Boot = 1000, seed: int = 0) -> dict:
    """Per driver: `weight` (sums to `r2`), `rescaled_pct`, `ci_low`/`ci_high`, `rank`, `rank_stability`, `n`;
    `missing` states the missing-data policy, `shrinkage` the pairwise repair (0 = none)."""
    df = ws.drivers(outcome=outcome, drivers=drivers, method=method, by=by, period=period, start=start, end=end,
                    filters=parse_filters(filters), missing=missing, bootstrap=bootstrap, seed=seed)
    return {"analysis": "drivers", "outcome": outcome, "method": method, "missing": missing,
            "bootstrap": bootstrap, "seed": seed, "rows": records(df)}


@router.get("/quadrant", response_model=QuadrantPublic, response_model_exclude_unset=True,
            summary="Moments-of-truth map: importance vs performance")
def quadrant(ws: WorkspaceDep, outcome: Outcome = "nps", drivers: Drivers = "touchpoint-ratings",
             method: Method = "relative_weights",
             performance: Literal["rating", "nps", "csat", "ces"] = "rating", start: From = None, end: To = None,
             filters: Filters = [], missing: Missing = "pairwise", bootstrap: Boot = 200,  # noqa: B006
             seed: int = 0) -> dict:
    df = ws.quadrant(outcome=outcome, drivers=drivers, method=method, performance=performance, start=start,
                     end=end, filters=parse_filters(filters), missing=missing, bootstrap=bootstrap, seed=seed)
    return {"analysis": "quadrant", "outcome": outcome, "rows": records(df)}


@router.get("/penalty-reward", response_model=PenaltyRewardPublic, response_model_exclude_unset=True,
            summary="Penalty, reward, impact asymmetry and class per driver")
def penalty_reward(ws: WorkspaceDep, outcome: Outcome = "nps", drivers: Drivers = "touchpoint-ratings",
                   low: float | None = None, high: float | None = None, by: By = "", period: Period | None = None,
                   start: From = None, end: To = None, filters: Filters = [],  # noqa: B006
                   missing: Literal["indicator", "listwise"] = "indicator") -> dict:
    df = ws.penalty_reward(outcome=outcome, drivers=drivers, low=low, high=high, by=by, period=period, start=start,
                           end=end, filters=parse_filters(filters), missing=missing)
    return {"analysis": "penalty-reward", "outcome": outcome, "missing": missing, "rows": records(df)}


@router.get("/dissonance", response_model=DissonancePublic, response_model_exclude_unset=True,
            summary="One bad moment vs all positive; weakest link vs average")
def dissonance(ws: WorkspaceDep, outcome: Outcome = "nps", drivers: Drivers = "touchpoint-ratings",
               negative: float | None = None, start: From = None, end: To = None,
               filters: Filters = []) -> dict:  # noqa: B006
    f = parse_filters(filters)
    tps = ws.dissonance(outcome=outcome, drivers=drivers, negative=negative, start=start, end=end, filters=f)
    models = ws.weakest_link(outcome=outcome, drivers=drivers, start=start, end=end, filters=f)
    return {"analysis": "dissonance", "outcome": outcome, "touchpoints": records(tps),
            "models": records(models)}


