"""/api/v1/cases: the queue and one case (read: `cases.read`), actions and manual cases (`cases.act`).

The caller's role scopes what it sees (domains/loop/queue.py): agents and team leads their team's cases. A
read naming a customer, and every read of one case, goes to the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from momenti.domains import audit
from momenti.domains.access.sessions import Principal
from momenti.domains.loop import cases
from momenti.domains.loop.queue import CaseFilter, case_detail, list_cases
from momenti.domains.loop.rules import active_rules
from momenti.server.auth import PrincipalDep
from momenti.server.deps import RowId, WorkspaceDep
from momenti.server.schemas.cases import CaseAction, CaseCreate, CaseDetailPublic, CaseListPublic

router = APIRouter(prefix="/api/v1", tags=["cases"])


def actor_of(principal: Principal) -> cases.Actor:
    """The case layer's actor of a caller. A token acts with full rights only with the admin scope; a read
    token sees every case (as an analyst does) and cannot act (the route's permission refuses it)."""
    if principal.kind == "token":
        return cases.Actor(principal.label, None if "admin" in principal.scopes else "analyst")
    return cases.Actor(principal.label, principal.role, principal.team, principal.id)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def signal_dispatcher(request: Request) -> None:
    """A case changed: its outbox event (webhooks, recovery survey, e-mails) is handled within seconds."""
    syncer = getattr(request.app.state, "syncer", None)
    if syncer is not None:
        syncer.touch()


@router.get("/cases", response_model=CaseListPublic)
def list_route(request: Request, ws: WorkspaceDep, principal: PrincipalDep,
               customer_id: str | None = None, team: str | None = None,
               status: Annotated[str, Query(description="open, all, or one status")] = "all",
               owner: Annotated[str | None, Query(description="An e-mail, me or none")] = None,
               touchpoint: str | None = None, priority: str | None = None,
               sla_state: Annotated[str | None, Query(description="on_track, at_risk, breached, met")] = None,
               rule: str | None = None, since: dt.datetime | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
               ) -> dict[str, Any]:
    f = CaseFilter(customer_id=customer_id, team=team, status=status, owner=owner, touchpoint=touchpoint,
                   priority=priority, sla_state=sla_state, rule=rule, since=since, limit=limit, offset=offset)
    with ws.session() as s, s.begin():
        rows, total = list_cases(s, actor_of(principal), f)
        if customer_id:
            audit.record(s, principal.label, "cases.read", ws.customer_ref(customer_id), {"rows": len(rows)},
                         ip=_ip(request))
    return {"rows": rows, "total": total}


@router.get("/cases/{case_id}", response_model=CaseDetailPublic)
def show_route(case_id: RowId, request: Request, ws: WorkspaceDep, principal: PrincipalDep) -> dict[str, Any]:
    with ws.session() as s, s.begin():
        case = cases.get_case(s, case_id, actor_of(principal))
        detail = case_detail(s, case)
        audit.record(s, principal.label, "case.read", f"case {case_id}", ip=_ip(request))
    return detail


def apply_action(s: Any, case: Any, actor: cases.Actor, body: CaseAction) -> None:
    """One action of the body on the case (shared by the API and the case page)."""
    from momenti.core.errors import InputError

    a = body.action
    if a == "assign":
        cases.assign(s, case, actor, body.user)
    elif a == "note":
        cases.add_note(s, case, actor, body.text or "")
    elif a == "contact":
        cases.log_contact(s, case, actor, body.channel or "phone", body.outcome or "", body.text)
    elif a == "priority":
        cases.set_priority(s, case, actor, body.priority or "")
    elif a == "status":
        if body.status not in ("acknowledged", "contacted", "pending_customer"):
            raise InputError("status: acknowledged, contacted or pending_customer (resolve, close and reopen are "
                             "actions of their own)")
        cases.move(s, case, actor, body.status)
    else:
        to = {"resolve": "resolved", "close": "closed", "reopen": "reopened"}[a]
        active = active_rules(s)
        cases.move(s, case, actor, to, note=body.text, root_causes=(active.document.root_cause_keys() or None)
                   if active else None, root_cause=body.root_cause, recovered=body.recovered,
                   resolution=body.resolution)


@router.post("/cases/{case_id}/actions", response_model=CaseDetailPublic)
def act_route(case_id: RowId, body: CaseAction, request: Request, ws: WorkspaceDep,
              principal: PrincipalDep) -> dict[str, Any]:
    actor = actor_of(principal)
    with ws.session() as s, s.begin():
        case = cases.get_case(s, case_id, actor)
        apply_action(s, case, actor, body)
        s.flush()
        audit.record(s, principal.label, f"case.{body.action}", f"case {case_id}", ip=_ip(request))
        detail = case_detail(s, case)
    signal_dispatcher(request)
    return detail


@router.post("/cases", response_model=CaseDetailPublic, status_code=201)
def create_route(body: CaseCreate, request: Request, ws: WorkspaceDep, principal: PrincipalDep) -> dict[str, Any]:
    actor = actor_of(principal)
    with ws.session() as s, s.begin():
        case = cases.open_manual(s, actor, body.customer_id, body.title, body.team, body.touchpoint, body.priority)
        audit.record(s, principal.label, "case.open", f"case {case.id}", ip=_ip(request))
        detail = case_detail(s, case)
    signal_dispatcher(request)
    return detail
