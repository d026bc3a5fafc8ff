"""/api/v1/reviews: the weekly review per team and week (`aggregates.read`), one activity recorded
(`review.act`: team leads for their team, CX managers and admins for any)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from momenti.core.errors import ForbiddenError
from momenti.core.frames import records
from momenti.domains.access.sessions import Principal
from momenti.domains.story.review import MAX_COMPARE_WEEKS
from momenti.server.api.cases import actor_of
from momenti.server.auth import PrincipalDep
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas.story import ImprovementsPublic, ReviewActivityPublic, ReviewCreate, ReviewsPublic

router = APIRouter(prefix="/api/v1", tags=["review"])


def _team_of(principal: Principal, team: str | None) -> str | None:
    """A team lead reads their own team's review; others any team."""
    if principal.kind == "user" and principal.role == "team_lead":
        if team and team != principal.team:
            raise ForbiddenError(f"a team lead reads the review of their own team ({principal.team})")
        return principal.team
    return team


@router.get("/reviews", response_model=ReviewsPublic)
def reviews_route(ws: WorkspaceDep, principal: PrincipalDep, team: str | None = None, since: str | None = None,
                  until: str | None = None) -> dict[str, Any]:
    df = ws.reviews(_team_of(principal, team), since, until)
    return {"basis": "customer activities", "rows": records(df)}


@router.get("/reviews/improvements", response_model=ImprovementsPublic)
def improvements_route(ws: WorkspaceDep, principal: PrincipalDep, team: str | None = None, since: str | None = None,
                       until: str | None = None,
                       weeks: Annotated[int, Query(ge=1, le=MAX_COMPARE_WEEKS)] = 8) -> dict[str, Any]:
    return {"rows": records(ws.review_improvements(_team_of(principal, team), since, until, weeks))}


@router.post("/reviews", response_model=ReviewActivityPublic, status_code=201)
def add_route(body: ReviewCreate, ws: WorkspaceDep, principal: PrincipalDep) -> dict[str, Any]:
    actor = actor_of(principal)
    return ws.review_add(body.team, body.week, body.what, body.value, body.ease, body.pleasantness,
                         body.touchpoints, body.case_ids, body.improvement, body.evidence, body.external_id, actor)
