"""The case pages: the queue (`/cases`: by team, SLA badges, filters, bulk assign) and one case (`/cases/<id>`:
its timeline, notes, contact log and actions). The same functions as the API and `momenti cases`
(domains/loop/queue.py and cases.py), the same scoping by role; `?format=json` answers the page's data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from momenti.core.errors import InputError, MomentiError
from momenti.core.i18n import N_
from momenti.domains import audit
from momenti.domains.loop import cases
from momenti.domains.loop.queue import SLA_STATES, CaseFilter, case_detail, list_cases
from momenti.domains.loop.rules import active_rules
from momenti.server.api.cases import actor_of, apply_action, signal_dispatcher
from momenti.server.auth import PrincipalDep
from momenti.server.deps import PageNumber, RowId
from momenti.server.schemas.cases import CaseAction
from momenti.server.web.chrome import chrome, page_language
from momenti.server.web.routes import table_download, templates
from momenti.store.access import Team, User

router = APIRouter(tags=["web"], include_in_schema=False)
PAGE = 50
# Words the case templates translate from values (statuses, SLA states, priorities, entry kinds, contacts):
# named here so `make i18n` extracts them.
WORDS = (N_("open"), N_("all"), N_("new"), N_("acknowledged"), N_("contacted"), N_("pending_customer"),
         N_("resolved"), N_("closed"), N_("reopened"), N_("on_track"), N_("at_risk"), N_("breached"), N_("met"),
         N_("low"), N_("normal"), N_("high"), N_("urgent"), N_("trigger"), N_("status"), N_("assign"),
         N_("priority"), N_("note"), N_("contact"), N_("escalation"), N_("phone"), N_("email"), N_("sms"),
         N_("chat"), N_("branch"), N_("letter"), N_("other"), N_("reached"), N_("no_answer"), N_("voicemail"),
         N_("wrong_number"), N_("refused"), N_("recovery_survey"), N_("recovery"), N_("sent"), N_("skipped"),
         N_("failed"), N_("deferred"))


def _teams(s: Any) -> list[str]:
    from sqlalchemy import select

    return list(s.scalars(select(Team.name).order_by(Team.name)))


def _assignees(s: Any, principal: Any) -> list[str]:
    from sqlalchemy import select

    stmt = select(User.email).where(User.disabled_at.is_(None), User.role.in_(("agent", "team_lead", "cx_manager")))
    if principal.role in ("agent", "team_lead"):
        stmt = stmt.join(Team, Team.id == User.team_id).where(Team.name == principal.team)
    return list(s.scalars(stmt.order_by(User.email)))


@router.get("/cases", response_class=HTMLResponse)
def queue_page(request: Request, principal: PrincipalDep, team: str = "", status: str = "open", sla: str = "",
               owner: str = "", priority: str = "", customer: str = "", page: PageNumber = 1,
               format: str = "html") -> Response:  # noqa: A002 - the query parameter's name
    lang = page_language(request)
    ws = request.app.state.workspace
    f = CaseFilter(customer_id=customer or None, team=team or None, status=status or "open", owner=owner or None,
                   priority=priority or None, sla_state=sla or None, limit=PAGE, offset=max(0, page - 1) * PAGE)
    error = None
    with ws.session() as s, s.begin():
        try:
            rows, total = list_cases(s, actor_of(principal), f)
        except InputError as exc:
            rows, total, error = [], 0, str(exc)
        if customer:
            audit.record(s, principal.label, "cases.read", ws.customer_ref(customer), {"rows": len(rows)})
        teams, assignees = _teams(s), _assignees(s, principal)
    if format == "json":
        return JSONResponse(jsonable_encoder({"rows": rows, "total": total}))
    if format in ("csv", "parquet"):
        import pandas as pd

        from momenti.domains.loop.queue import COLUMNS

        return table_download(pd.DataFrame(rows, columns=COLUMNS), "cases", format)
    return templates.TemplateResponse(request, "cases.html", {
        "lang": lang, "chrome": chrome(request, lang, "cases"), "rows": rows, "total": total, "page": page,
        "pages": max(1, -(-total // PAGE)), "error": error, "teams": teams, "assignees": assignees,
        "f": {"team": team, "status": status, "sla": sla, "owner": owner, "priority": priority,
              "customer": customer},
        "sla_states": SLA_STATES, "can_act": principal.allows("cases.act"),
        "can_assign": principal.role in (None, "admin", "cx_manager", "team_lead")})


@router.post("/cases/assign")
def bulk_assign(request: Request, principal: PrincipalDep, case_ids: Annotated[list[int], Form()],
                user: Annotated[str, Form(max_length=320)]) -> Response:
    """Assign the ticked cases to one person (team leads within their team)."""
    ws = request.app.state.workspace
    actor = actor_of(principal)
    try:
        with ws.session() as s, s.begin():
            for cid in case_ids[:500]:
                case = cases.get_case(s, cid, actor)
                cases.assign(s, case, actor, user or None)
                audit.record(s, principal.label, "case.assign", f"case {cid}")
    except MomentiError as exc:
        return HTMLResponse(f"<p class=error>{_escape(str(exc))}</p>", status_code=exc.status_code)
    signal_dispatcher(request)
    return RedirectResponse(f"/cases?lang={page_language(request)}", status_code=303)


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _case_page(request: Request, principal: Any, case_id: int, status: int = 200, error: str | None = None
               ) -> Response:
    lang = page_language(request)
    ws = request.app.state.workspace
    with ws.session() as s, s.begin():
        case = cases.get_case(s, case_id, actor_of(principal))
        detail = case_detail(s, case)
        audit.record(s, principal.label, "case.read", f"case {case_id}")
        active = active_rules(s)
        causes = [(c.key, c.label.get(lang) or c.key) for c in active.document.root_causes] if active else []
        assignees = _assignees(s, principal)
    if request.query_params.get("format") == "json":
        return JSONResponse(jsonable_encoder(detail))
    return templates.TemplateResponse(request, "case.html", {
        "lang": lang, "chrome": chrome(request, lang, "cases"), "c": detail, "error": error,
        "causes": causes, "assignees": assignees, "can_act": principal.allows("cases.act"),
        "channels": cases.CONTACT_CHANNELS, "outcomes": cases.CONTACT_OUTCOMES,
        "next": cases.TRANSITIONS.get(detail["status"], ())}, status_code=status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, principal: PrincipalDep, case_id: RowId) -> Response:
    return _case_page(request, principal, case_id)


@router.post("/cases/{case_id}", response_class=HTMLResponse)
def case_action(request: Request, principal: PrincipalDep, case_id: RowId,
                action: Annotated[str, Form(max_length=20)], text: Annotated[str, Form(max_length=10_000)] = "",
                user: Annotated[str, Form(max_length=320)] = "", channel: Annotated[str, Form(max_length=20)] = "",
                outcome: Annotated[str, Form(max_length=20)] = "", status: Annotated[str, Form(max_length=20)] = "",
                root_cause: Annotated[str, Form(max_length=100)] = "",
                recovered: Annotated[str, Form(max_length=5)] = "",
                priority: Annotated[str, Form(max_length=10)] = "") -> Response:
    ws = request.app.state.workspace
    actor = actor_of(principal)
    try:
        body = CaseAction(action=action, user=user or None, text=text or None, channel=channel or None,  # type: ignore[arg-type]
                          outcome=outcome or None, status=status or None, root_cause=root_cause or None,
                          recovered={"yes": True, "no": False}.get(recovered), resolution=text or None,
                          priority=priority or None)
        with ws.session() as s, s.begin():
            case = cases.get_case(s, case_id, actor)
            apply_action(s, case, actor, body)
            audit.record(s, principal.label, f"case.{action}", f"case {case_id}")
    except MomentiError as exc:
        return _case_page(request, principal, case_id, exc.status_code, str(exc))
    except ValueError as exc:  # an action the form does not offer
        return _case_page(request, principal, case_id, 400, str(exc).splitlines()[0])
    signal_dispatcher(request)
    return RedirectResponse(f"/cases/{case_id}?lang={page_language(request)}", status_code=303)
