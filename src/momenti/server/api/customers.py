"""/api/v1/customers: find a customer, read their timeline (`timeline.read`: staff who talk to customers, and
systems with a read token; never analysts or viewers), check an offer, add a note or log an offer
(`cases.act`). Every timeline read goes to the audit log (in `ws.story`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from momenti.core.frames import records
from momenti.domains.access.sessions import Principal
from momenti.domains.loop.cases import Actor
from momenti.server.api.cases import actor_of
from momenti.server.auth import PrincipalDep
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas.story import (
    CustomersPublic,
    NoteCreate,
    NotePublic,
    OfferCheckPublic,
    OfferLog,
    OfferLogged,
    TimelinePublic,
)

router = APIRouter(prefix="/api/v1", tags=["customers"])
# who reads staff notes in full: the people who speak to customers (and the CLI); others read them masked
FULL_NOTES_ROLES = frozenset({"admin", "cx_manager", "team_lead", "agent"})


def story_actor(principal: Principal) -> tuple[Actor, bool]:
    """(the actor whose scope applies, whether notes are shown in full). A token reads as a system: every
    customer, notes masked unless it has the admin scope."""
    if principal.kind == "token":
        return Actor(principal.label, None), "admin" in principal.scopes
    return actor_of(principal), principal.role in FULL_NOTES_ROLES


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/customers", response_model=CustomersPublic)
def find_route(ws: WorkspaceDep, principal: PrincipalDep, request: Request,
               q: Annotated[str, Query(min_length=1, description="A customer id (or its start), an e-mail hash "
                                                                 "or an attribute value")],
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    from momenti.domains import audit

    found = ws.find_customers(q, limit)
    with ws.session() as s, s.begin():
        audit.record(s, principal.label, "customers.search", None, {"matches": len(found)}, ip=_ip(request))
    return {"rows": records(found)}


@router.get("/customers/{customer_id}/timeline", response_model=TimelinePublic)
def timeline_route(customer_id: str, ws: WorkspaceDep, principal: PrincipalDep, request: Request,
                   kind: Annotated[list[str] | None, Query(description="Only these kinds (repeatable)")] = None,
                   since: Annotated[str | None, Query(description="From this day (YYYY-MM-DD)")] = None,
                   until: Annotated[str | None, Query(description="Up to this day, included")] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
                   ) -> dict[str, Any]:
    actor, full = story_actor(principal)
    kinds = [k.strip() for item in (kind or []) for k in item.split(",") if k.strip()]
    return ws.story(customer_id, actor, kinds=kinds, start=since, end=until, limit=limit, offset=offset,
                    full_notes=full, audit_as=principal.label, ip=_ip(request))


@router.get("/customers/{customer_id}/offers/check", response_model=OfferCheckPublic)
def offer_check_route(customer_id: str, ws: WorkspaceDep, principal: PrincipalDep,
                      offer: Annotated[str, Query(min_length=1, max_length=200)]) -> dict[str, Any]:
    """May `offer` be proposed to this customer? Not when they declined it `MOMENTI_OFFER_MAX_DECLINES` times
    in the last `MOMENTI_OFFER_LOOKBACK_DAYS` days, or accepted it in that window."""
    actor, _ = story_actor(principal)
    _may_read(ws, customer_id, actor)
    return ws.offer_check(customer_id, offer)


def _may_read(ws: Any, customer_id: str, actor: Actor) -> None:
    from momenti.core.errors import ForbiddenError
    from momenti.domains.story.timeline import may_read

    if actor.role in ("agent", "team_lead"):
        with ws.session() as s, ws.warehouse() as wh:
            if not may_read(s, wh, customer_id, actor, ws.settings.timeline_agent_scope):
                raise ForbiddenError("this customer is not one of your team's")


@router.post("/customers/{customer_id}/notes", response_model=NotePublic, status_code=201)
def note_route(customer_id: str, body: NoteCreate, ws: WorkspaceDep, principal: PrincipalDep) -> dict[str, Any]:
    actor, _ = story_actor(principal)
    _may_read(ws, customer_id, actor)
    return ws.add_customer_note(customer_id, body.text, actor)


@router.post("/customers/{customer_id}/offers", response_model=OfferLogged, status_code=201)
def offer_route(customer_id: str, body: OfferLog, ws: WorkspaceDep, principal: PrincipalDep) -> dict[str, Any]:
    actor, _ = story_actor(principal)
    _may_read(ws, customer_id, actor)
    return ws.log_offer(customer_id, body.offer, body.outcome, body.channel, actor)
