"""Customer lifecycle: the loyalty bank (first-time vs repeat is `segment:lifecycle` in every metric)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from momenti.core.args import Day
from momenti.core.frames import records
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import LoyaltyBankPublic

router = APIRouter(prefix="/api/v1/analysis", tags=["lifecycle"])


@router.get("/loyalty-bank", response_model=LoyaltyBankPublic, response_model_exclude_unset=True,
            summary="Loyalty by the number of positive moments lived before")
def loyalty_bank(ws: WorkspaceDep, outcome: str = "nps", touchpoint: str = "relationship-survey",
                 buckets: str = "0,1,2,3,5,8",
                 start: Annotated[Day | None, Query(alias="from")] = None,
                 end: Annotated[Day | None, Query(alias="to")] = None) -> dict:
    """Each loyalty answer (`outcome` at `touchpoint`; empty touchpoint = anywhere) grouped by how many
    top-box moments (CSAT 4-5, else CES 5-7, else NPS 9-10) the customer lived before it: n, score and
    interval per group, and `trend` (slope per extra positive moment, interval, p-value)."""
    df = ws.loyalty_bank(outcome, touchpoint or None, buckets, start, end)
    return {"outcome": outcome, "touchpoint": touchpoint or None, "trend": df.attrs.get("trend", {}),
            "rows": records(df)}
