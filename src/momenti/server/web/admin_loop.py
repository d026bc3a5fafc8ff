"""Admin pages of the closed loop: the alert rules (`/admin/rules`: the version in force, its history, a dry
run and applying a new version, the same functions as `momenti rules`) and the webhook endpoints
(`/admin/webhooks`: add with the secret shown once, disable, enable, rotate, the delivery log, replay)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from momenti.core.errors import InputError, MomentiError
from momenti.domains import audit
from momenti.domains.loop import webhooks
from momenti.domains.loop.metric_rules import history
from momenti.domains.loop.rules import active_rules, apply_rules, load_rules, template_text, versions
from momenti.domains.loop.triggers import dry_run
from momenti.server.auth import PrincipalDep
from momenti.server.web.chrome import chrome, page_language
from momenti.server.web.routes import templates

router = APIRouter(tags=["web"], include_in_schema=False)


def _rules_page(request: Request, text: str | None = None, status: int = 200, error: str | None = None,
                notice: str | None = None, tried: list[dict[str, Any]] | None = None,
                since: str = "") -> HTMLResponse:
    lang = page_language(request)
    ws = request.app.state.workspace
    with ws.session() as s:
        active = active_rules(s)
        history_rows = versions(s)
    if text is None:
        text = (yaml.safe_dump(active.document.model_dump(mode="json", exclude_defaults=True), allow_unicode=True,
                               sort_keys=False) if active else template_text())
    return templates.TemplateResponse(request, "admin_rules.html", {
        "lang": lang, "chrome": chrome(request, lang, "rules"), "text": text, "error": error, "notice": notice,
        "versions": list(reversed(history_rows)), "active": active, "tried": tried, "since": since},
        status_code=status)


@router.get("/admin/rules", response_class=HTMLResponse)
def rules_page(request: Request) -> HTMLResponse:
    return _rules_page(request)


@router.post("/admin/rules", response_class=HTMLResponse)
def rules_post(request: Request, principal: PrincipalDep, action: Annotated[str, Form(max_length=10)],
               document: Annotated[str, Form(max_length=200_000)],
               since: Annotated[str, Form(max_length=10)] = "") -> Response:
    ws = request.app.state.workspace
    try:
        doc = load_rules(document, label="rules")
        if action == "test":
            day = dt.datetime.combine(dt.date.fromisoformat(since), dt.time()) if since else \
                dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=30)
            with ws.session() as s:
                tried = dry_run(s, doc, day, metric_finder=lambda rule, a, b: history(ws, rule, a, b))
            return _rules_page(request, document, tried=tried, since=since or f"{day:%Y-%m-%d}")
        if action != "apply":
            raise InputError(f"action {action!r}: test or apply")
        with ws.session() as s, s.begin():
            result = apply_rules(s, doc, principal.label)
            if result.changed:
                audit.record(s, principal.label, "rules.apply", f"version {result.version}",
                             {"rules": [r.key for r in doc.rules]})
        note = (f"version {result.version} in force ({result.rules} rules)" if result.changed
                else f"unchanged: version {result.version} stays in force")
        return _rules_page(request, None, notice=note)
    except (MomentiError, ValueError) as exc:
        status = exc.status_code if isinstance(exc, MomentiError) else 400
        return _rules_page(request, document, status, str(exc))


def _hooks_page(request: Request, status: int = 200, error: str | None = None, secret: str | None = None,
                notice: str | None = None) -> HTMLResponse:
    lang = page_language(request)
    ws = request.app.state.workspace
    with ws.session() as s:
        endpoints, log = webhooks.endpoints(s), webhooks.deliveries(s, limit=30)
    return templates.TemplateResponse(request, "admin_webhooks.html", {
        "lang": lang, "chrome": chrome(request, lang, "webhooks"), "endpoints": endpoints, "log": log,
        "error": error, "secret": secret, "notice": notice, "types": webhooks.EVENT_TYPES}, status_code=status)


@router.get("/admin/webhooks", response_class=HTMLResponse)
def hooks_page(request: Request) -> HTMLResponse:
    return _hooks_page(request)


@router.post("/admin/webhooks", response_class=HTMLResponse)
def hooks_post(request: Request, principal: PrincipalDep, action: Annotated[str, Form(max_length=10)],
               url: Annotated[str, Form(max_length=2000)] = "", events: Annotated[list[str] | None, Form()] = None,
               endpoint_id: Annotated[int | None, Form()] = None,
               delivery_id: Annotated[int | None, Form()] = None) -> Response:
    ws = request.app.state.workspace
    secret = notice = None
    try:
        with ws.session() as s, s.begin():
            if action == "add":
                row, secret = webhooks.add_endpoint(s, ws.settings, url, events or [])
                audit.record(s, principal.label, "webhook.add", row.url, {"events": row.events})
            elif action in ("disable", "enable") and endpoint_id is not None:
                webhooks.set_enabled(s, endpoint_id, action == "enable")
                audit.record(s, principal.label, f"webhook.{action}", f"endpoint {endpoint_id}")
            elif action == "rotate" and endpoint_id is not None:
                secret = webhooks.rotate_secret(s, ws.settings, endpoint_id)
                audit.record(s, principal.label, "webhook.rotate", f"endpoint {endpoint_id}")
            elif action == "replay" and delivery_id is not None:
                webhooks.replay(s, delivery_id=delivery_id)
                audit.record(s, principal.label, "webhook.replay", f"delivery {delivery_id}")
                notice = f"delivery {delivery_id} queued again (sent within a minute)"
            else:
                raise InputError(f"action {action!r}: add, disable, enable, rotate or replay")
    except MomentiError as exc:
        return _hooks_page(request, exc.status_code, str(exc))
    return _hooks_page(request, 201 if action == "add" else 200, secret=secret, notice=notice)
