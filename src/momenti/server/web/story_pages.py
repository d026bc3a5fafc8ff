"""The customer's page (`/customers/<id>`: before you talk, then the timeline; a note or an offer logged from it),
finding a customer (`/customers?q=`), and the team's weekly review (`/review`). The same functions as the API
and the CLI (`ws.story`, `ws.reviews`, ...); `?format=json` answers the page's data."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from momenti.core.errors import InputError, MomentiError
from momenti.core.frames import records
from momenti.core.i18n import N_
from momenti.domains.story.timeline import KINDS
from momenti.server.api.cases import actor_of
from momenti.server.api.customers import story_actor
from momenti.server.auth import PrincipalDep
from momenti.server.web.chrome import chrome, page_language
from momenti.server.web.routes import table_download, templates

router = APIRouter(tags=["web"], include_in_schema=False)
PAGE = 50
WORDS = (N_("response"), N_("event"), N_("feedback"), N_("invitation"), N_("case"), N_("offer"), N_("outcome"),
         N_("accepted"), N_("declined"), N_("pending"), N_("answered"), N_("bounced"), N_("churned"),
         N_("active"), N_("first-time"), N_("repeat"))


@router.get("/customers", response_class=HTMLResponse)
def find_page(request: Request, principal: PrincipalDep, q: str = "", format: str = "html") -> Response:  # noqa: A002
    lang = page_language(request)
    ws = request.app.state.workspace
    rows, error = [], None
    if q.strip():
        try:
            found = ws.find_customers(q.strip())
            rows = records(found)
        except MomentiError as exc:
            error = str(exc)
        if len(rows) == 1 and format != "json":
            return RedirectResponse(f"/customers/{quote(rows[0]['customer_id'], safe='')}?lang={lang}", 303)
    if format == "json":
        return JSONResponse(jsonable_encoder({"rows": rows}))
    return templates.TemplateResponse(request, "customers.html", {
        "lang": lang, "chrome": chrome(request, lang, "customers"), "q": q, "rows": rows, "error": error})


def _customer_page(request: Request, principal: Any, customer_id: str, status: int = 200,
                   error: str | None = None, warning: str | None = None) -> Response:
    lang = page_language(request)
    ws = request.app.state.workspace
    qp = request.query_params
    kinds = [k for k in qp.getlist("kind") if k]
    page = max(1, int(qp.get("page") or 1)) if (qp.get("page") or "1").isdigit() else 1
    actor, full = story_actor(principal)
    try:
        doc = ws.story(customer_id, actor, kinds=kinds, start=qp.get("since") or None, end=qp.get("until") or None,
                       limit=PAGE, offset=(page - 1) * PAGE, full_notes=full, audit_as=principal.label,
                       ip=request.client.host if request.client else None)
    except InputError as exc:
        doc = ws.story(customer_id, actor, limit=PAGE, full_notes=full, audit_as=principal.label)
        error, status = str(exc), 400
    if qp.get("format") == "json":
        return JSONResponse(doc, status_code=status)
    if qp.get("format") in ("csv", "parquet"):
        return table_download(timeline_frame(doc["rows"]), f"timeline-{customer_id}"[:80], qp["format"])
    return templates.TemplateResponse(request, "customer.html", {
        "lang": lang, "chrome": chrome(request, lang, "customers"), "doc": doc, "s": doc["summary"],
        "kinds": KINDS, "chosen": kinds, "since": qp.get("since") or "", "until": qp.get("until") or "",
        "page": page, "pages": max(1, -(-doc["total"] // PAGE)), "error": error, "warning": warning,
        "can_act": principal.allows("cases.act"), "quote": quote,
        "outcomes": ("pending", "accepted", "declined", "no_answer")}, status_code=status)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(request: Request, principal: PrincipalDep, customer_id: str) -> Response:
    return _customer_page(request, principal, customer_id)


@router.post("/customers/{customer_id}", response_class=HTMLResponse)
def customer_action(request: Request, principal: PrincipalDep, customer_id: str,
                    action: Annotated[str, Form(max_length=10)], text: Annotated[str, Form(max_length=5000)] = "",
                    offer: Annotated[str, Form(max_length=200)] = "",
                    outcome: Annotated[str, Form(max_length=20)] = "pending",
                    channel: Annotated[str, Form(max_length=50)] = "") -> Response:
    """A note on the customer, or an offer proposed (warned, and recorded, when the rule objects)."""
    ws = request.app.state.workspace
    actor, _ = story_actor(principal)
    warning = None
    try:
        ws.story(customer_id, actor, limit=1, audit_as=principal.label)  # refuses a customer not of the team
        if action == "note":
            ws.add_customer_note(customer_id, text, actor)
        elif action == "offer":
            warning = ws.log_offer(customer_id, offer, outcome or "pending", channel or None, actor)["warning"]
        else:
            raise InputError("action: note or offer")
    except MomentiError as exc:
        return _customer_page(request, principal, customer_id, exc.status_code, str(exc))
    if warning:
        return _customer_page(request, principal, customer_id, 200, warning=warning)
    return RedirectResponse(f"/customers/{quote(customer_id, safe='')}?lang={page_language(request)}", 303)


def timeline_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The timeline's rows as one table: the common columns first, every kind's own fields after (nested ones,
    a response's scores and answers or a case's notes, as JSON text)."""
    first = ["ts", "kind", "id"]
    cols = list(dict.fromkeys([*first, *(k for r in rows for k in r)]))
    return pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)


# --- the weekly review -------------------------------------------------------------------------------------------


def _review_page(request: Request, principal: Any, status: int = 200, error: str | None = None) -> Response:
    lang = page_language(request)
    ws = request.app.state.workspace
    qp = request.query_params
    team = qp.get("team") or None
    if principal.kind == "user" and principal.role == "team_lead":
        team = principal.team
    teams = [t["team"] for t in ws.teams()]
    since = qp.get("since") or (dt.date.today() - dt.timedelta(weeks=12)).isoformat()
    weeks = records(ws.reviews(team, since, qp.get("until") or None))
    acts = records(ws.review_activities(team, since, qp.get("until") or None))
    try:
        improvements = records(ws.review_improvements(team, since, qp.get("until") or None))
    except MomentiError as exc:
        improvements, error = [], error or str(exc)
    if qp.get("format") == "json":
        return JSONResponse(jsonable_encoder({"weeks": weeks, "activities": acts, "improvements": improvements}))
    if qp.get("format") in ("csv", "parquet"):
        tables = {"weeks": weeks, "activities": acts, "improvements": improvements}
        panel = qp.get("panel") or "weeks"
        if panel not in tables:
            raise InputError(f"panel {panel!r}: weeks, activities or improvements")
        return table_download(pd.DataFrame(tables[panel]), f"review-{panel}", qp["format"])
    touchpoints = [(t["key"], t.get("name_" + lang) or t["key"]) for j in ws.journey_document()["journeys"]
                   for st in j["stages"] for t in st["touchpoints"]]
    return templates.TemplateResponse(request, "review.html", {
        "lang": lang, "chrome": chrome(request, lang, "review"), "team": team or "", "teams": teams,
        "since": since, "weeks": weeks, "activities": list(reversed(acts))[:100], "improvements": improvements,
        "touchpoints": touchpoints, "error": error, "can_act": principal.allows("review.act"),
        "this_week": "{}-W{:02d}".format(*dt.date.today().isocalendar()[:2])}, status_code=status)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, principal: PrincipalDep) -> Response:
    return _review_page(request, principal)


@router.post("/review", response_class=HTMLResponse)
def review_add(request: Request, principal: PrincipalDep, team: Annotated[str, Form(max_length=200)],
               week: Annotated[str, Form(max_length=20)], what: Annotated[str, Form(max_length=2000)],
               value: Annotated[str, Form(max_length=2)], ease: Annotated[str, Form(max_length=2)],
               pleasantness: Annotated[str, Form(max_length=2)],
               touchpoint: Annotated[list[str] | None, Form()] = None,
               improvement: Annotated[str, Form(max_length=5)] = "",
               evidence: Annotated[str, Form(max_length=5000)] = "") -> Response:
    ws = request.app.state.workspace
    try:
        ws.review_add(team, week, what, value, ease, pleasantness, [t for t in touchpoint or [] if t],  # type: ignore[arg-type]
                      improvement=improvement in ("on", "yes", "true"), evidence=evidence or None,
                      actor=actor_of(principal))
    except MomentiError as exc:
        return _review_page(request, principal, exc.status_code, str(exc))
    return RedirectResponse(f"/review?lang={page_language(request)}&team={quote(team)}", 303)
