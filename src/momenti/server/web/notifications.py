"""Staff notification preferences: the one-click unsubscribe link of every staff e-mail (GET asks, POST acts:
mail scanners open links; RFC 8058 clients POST) and PUT /api/v1/me/notifications for the signed-in user."""

from __future__ import annotations

import html
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from momenti.core.errors import InputError
from momenti.domains import audit
from momenti.domains.loop import notify
from momenti.server.auth import PrincipalDep
from momenti.server.deps import WorkspaceDep
from momenti.server.web.chrome import page_language

router = APIRouter(tags=["notifications"])

_TEXT = {"it": ("Notifiche", "Non riceverà più le e-mail di momenti (casi, allerte, escalation). Può riattivarle "
                "dal suo profilo o chiedendo all'amministratore.", "Smetti di ricevere le e-mail di momenti per",
                "Conferma", "Questo link non è valido."),
         "en": ("Notifications", "You will no longer receive momenti's e-mails (cases, alerts, escalations). You "
                "can turn them on again in your profile or by asking your administrator.",
                "Stop momenti's e-mails to", "Confirm", "This link is not valid.")}


def _page(request: Request, token: str, act: bool) -> HTMLResponse:
    lang = page_language(request)
    title, done, ask, button, invalid = _TEXT[lang]
    ws = request.app.state.workspace
    try:
        email = notify.email_of_token(ws.settings, token)
        if act:
            with ws.session() as s, s.begin():
                notify.set_mode(s, email, "off")
                audit.record(s, f"user:{email}", "notifications.off", email,
                             ip=request.client.host if request.client else None)
    except InputError:
        return HTMLResponse(f"<!DOCTYPE html><html lang={lang}><title>{title}</title><main><h1>{title}</h1>"
                            f"<p>{invalid}</p></main></html>", status_code=400)
    if act:
        body = f"<p>{html.escape(done)}</p>"
    else:
        body = (f'<form method="post"><p>{html.escape(ask)} <strong>{html.escape(email)}</strong>?</p>'
                f'<button type="submit">{button}</button></form>')
    return HTMLResponse(f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
                        f'<link rel="stylesheet" href="/static/momenti.css"></head><body><main><h1>{title}</h1>'
                        f"{body}</main></body></html>")


@router.get("/notifications/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe_page(request: Request, t: str = "") -> HTMLResponse:
    return _page(request, t, act=False)


@router.post("/notifications/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
def unsubscribe(request: Request, t: str = "") -> HTMLResponse:
    return _page(request, t, act=True)


class NotificationsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["immediate", "daily", "off"]
    language: Literal["it", "en"] | None = None


class NotificationsPublic(BaseModel):
    email: str
    mode: str
    language: str


@router.put("/api/v1/me/notifications", response_model=NotificationsPublic)
def set_notifications(body: NotificationsUpdate, ws: WorkspaceDep, principal: PrincipalDep) -> dict[str, Any]:
    """The signed-in user's staff e-mails: immediate, daily (one digest) or off, and their language."""
    if principal.kind != "user":
        raise InputError("notification preferences belong to users (sign in), not to API tokens")
    with ws.session() as s, s.begin():
        user = notify.set_mode(s, principal.name, body.mode)
        if body.language:
            user.language = body.language
        audit.record(s, principal.label, "notifications.set", principal.name, {"mode": body.mode})
        return {"email": user.email, "mode": user.notify, "language": user.language}
