"""Public routes of the survey reach: the widget (`/widget.js`, `/w/{survey}`), the unsubscribe page (`/u/{token}`),
and the bounce report API. `install(app)` includes the router and the request-size limit of every public POST
(/s/, /w/, /u/)."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from momenti.core.clock import utcnow
from momenti.core.errors import InputError, MomentiError
from momenti.core.frames import records
from momenti.core.i18n import LANGUAGES, N_, gettext
from momenti.domains.surveys import abuse, fatigue, links, widget
from momenti.domains.surveys.invite import status as invitation_status
from momenti.domains.surveys.invite_trigger import record_bounces
from momenti.domains.surveys.texts import pick_language
from momenti.server.deps import JsonBody, TokenDep, WorkspaceDep
from momenti.server.schemas import BounceRow, InvitationRow
from momenti.server.web.routes import templates

router = APIRouter(tags=["survey reach"])
log = logging.getLogger("momenti.server.web.survey_reach")

# The words of the unsubscribe page by key (msgids in English, translated by the catalogs of core/locales).
UNSUB_MESSAGES = {
    "title": N_("Unsubscribe from surveys"), "button": N_("Yes, send me no more surveys"),
    "confirm": N_("Do you want to stop receiving our surveys? We will not contact you again for any survey."),
    "done": N_("Done: you will receive no more surveys from us. Thank you for your time."),
    "invalid": N_("This link is not valid. If you copied the address from the e-mail, check that it is complete."),
    "other": N_("Switch to the other language"),
}
UNSUB_TEXTS = {lang: {key: gettext(lang, msgid) for key, msgid in UNSUB_MESSAGES.items()} for lang in LANGUAGES}


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_middleware(abuse.BodySizeLimit, limit=app.state.workspace.settings.public_max_body_bytes)


def _csp(nonce: str, frame_ancestors: str | None = None) -> str:
    # These pages load their stylesheet from /static/ (no inline style) and run one inline script, by its
    # nonce; forms post to themselves. The widget and its messages (frame_ancestors None) have no
    # frame-ancestors: any host site embeds them; the unsubscribe page none.
    framing = f"; frame-ancestors {frame_ancestors}" if frame_ancestors else ""
    return (f"default-src 'none'; style-src 'self'; script-src 'nonce-{nonce}'; form-action 'self'; "
            f"base-uri 'none'{framing}")


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None, frame_ancestors: str | None = None) -> HTMLResponse:
    nonce = secrets.token_urlsafe(12)
    page = templates.TemplateResponse(request, name, {"nonce": nonce, **context}, status_code=status,
                                      headers={"Content-Security-Policy": _csp(nonce, frame_ancestors),
                                               "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                               **(headers or {})})
    return page


def _message(request: Request, lang: str, message: str | None, status: int = 200, survey_key: str | None = None,
             done: bool = False, days: int = 0, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A one-line page; with `survey_key` it tells the host page its height (shown), else stays hidden."""
    return _page(request, "reach/message.html", {"lang": lang, "title": message or "momenti", "message": message,
                                                 "survey_key": survey_key, "done": done, "days": days},
                 status, headers)


# -- widget ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _widget_js() -> bytes:
    return (Path(__file__).parent / "templates" / "reach" / "widget.js").read_bytes()


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> Response:
    return Response(_widget_js(), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})  # nosniff: api/middleware.py


@router.get("/w/{survey_key}", response_class=HTMLResponse, include_in_schema=False)
def widget_page(request: Request, ws: WorkspaceDep, survey_key: str,
                c: Annotated[str | None, Query(max_length=200)] = None,
                t: Annotated[str | None, Query(max_length=4096)] = None,
                lang: str | None = None, tp: str | None = None, q: str | None = None) -> Response:
    now = utcnow()
    accept = request.headers.get("accept-language")
    try:
        view = widget.resolve(ws, survey_key, lang=lang, customer=c, token=t, touchpoint=tp, question=q,
                              accept_language=accept, now=now)
    except MomentiError as exc:  # unknown or closed survey, bad link: the widget stays hidden on the host page
        return _message(request, pick_language(lang, accept_language=accept), None, exc.status_code)
    if widget.hidden_reason(ws, view, dict(request.cookies), now) is not None:
        return _message(request, view.lang, None)
    return _page(request, "reach/widget.html", {"view": view, "t": view.texts(), "action": request.url.path,
                                                "survey_key": view.info.key, "error": None, "score": None,
                                                "comment": None, "done": False})


@router.post("/w/{survey_key}", response_class=HTMLResponse, include_in_schema=False)
async def widget_submit(request: Request, survey_key: str) -> Response:
    form = await abuse.read_form(request, max_files=0, max_fields=50)
    lang = pick_language(str(form.get("lang") or ""), accept_language=request.headers.get("accept-language"))
    try:
        genuine = abuse.check_submission(request, form)
    except HTTPException as exc:
        if exc.status_code != 429:
            raise
        return _message(request, lang, widget.TEXTS[lang]["busy"], 429, survey_key, headers=dict(exc.headers or {}))
    days = request.app.state.workspace.settings.fatigue_days
    if not genuine:  # the honeypot was filled: a bot. Answer as if it worked; write nothing.
        return _message(request, lang, widget.TEXTS[lang]["thanks"], 200, survey_key)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_widget_write, request, survey_key, values, days)


def _widget_write(request: Request, survey_key: str, form: dict[str, str], days: int) -> Response:
    ws = request.app.state.workspace
    now = utcnow()
    lang = form.get("lang")
    try:
        view = widget.resolve(ws, survey_key, lang=lang, customer=form.get("c") or None, token=form.get("t") or None,
                              touchpoint=form.get("tp") or None, question=form.get("q") or None,
                              sid=form.get("sid") or None, now=now)
    except links.LinkExpired as exc:
        return _message(request, pick_language(lang), str(exc), 410, survey_key)
    except links.LinkInvalid:
        return _message(request, pick_language(lang), widget.TEXTS[pick_language(lang)]["invalid"], 400,
                        survey_key)
    except MomentiError as exc:
        language = pick_language(lang)
        text = widget.TEXTS[language]["closed"] if exc.status_code in (400, 404) else str(exc)
        return _message(request, language, text, exc.status_code, survey_key)
    score = widget.parse_score(view, form.get("score"))
    comment = (form.get("comment") or "").strip() or None
    if score is None:
        return _page(request, "reach/widget.html", {"view": view, "t": view.texts(), "action": request.url.path,
                                                    "survey_key": view.info.key, "score": None, "comment": comment,
                                                    "error": view.texts()["required"], "done": False}, 400)
    try:
        widget.write_response(ws, view, score, comment, now)
    except InputError:  # e.g. the survey's touchpoint archived since: a bug to fix, not a customer's to read
        log.warning("widget answer to %s not written", survey_key, exc_info=True)
        return _message(request, view.lang, widget.TEXTS[view.lang]["closed"], 400, survey_key)
    request.app.state.syncer.touch()
    widget.record_contact(ws, view, now)
    page = _message(request, view.lang, view.texts()["thanks"], 200, survey_key, done=True, days=days)
    page.set_cookie(widget.cookie_name(view.info.key), "1", max_age=days * 86400, path=f"/w/{view.info.key}",
                    httponly=True, samesite="lax")
    return page


# -- unsubscribe -------------------------------------------------------------------------------------------


def _unsubscribe_page(request: Request, token: str, lang: str | None, act: bool) -> Response:
    ws = request.app.state.workspace
    try:
        who: dict[str, str | None] | None = links.verify_unsubscribe(token, links.secret_keys(ws.settings))
    except links.LinkInvalid:
        who = None
    language = pick_language(lang, who.get("lang") if who else None,
                                    accept_language=request.headers.get("accept-language"))
    if who is None:
        state, status = "invalid", 400
    elif act:
        fatigue.unsubscribe(ws, str(who["customer_id"]), who.get("email"), source="link")
        state, status = "done", 200
    else:
        state, status = ("done" if fatigue.is_opted_out(ws, str(who["customer_id"])) else "confirm"), 200
    return _page(request, "reach/unsubscribe.html", {"lang": language, "t": UNSUB_TEXTS[language], "state": state,
                                                     "other": "en" if language == "it" else "it"}, status,
                 {"Content-Language": language}, frame_ancestors="'none'")


@router.get("/u/{token}", response_class=HTMLResponse, summary="Unsubscribe page (asks to confirm)",
            include_in_schema=False)
def unsubscribe_page(request: Request, token: str, lang: str | None = None) -> Response:
    # GET only asks: mail scanners open every link in a message, and must not unsubscribe anyone by doing so.
    return _unsubscribe_page(request, token, lang, act=False)


@router.post("/u/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe_confirm(request: Request, token: str, lang: str | None = None) -> Response:
    # Also the target of RFC 8058 one-click unsubscribe (List-Unsubscribe-Post) from mail clients.
    try:
        abuse.check_rate(request)
    except HTTPException as exc:
        return Response(str(exc.detail), status_code=429, headers=exc.headers)
    return await run_in_threadpool(_unsubscribe_page, request, token, lang, True)


# -- API ---------------------------------------------------------------------------------------------------


@router.get("/api/v1/invitations", response_model=list[InvitationRow],
            summary="Invitations per survey and status, and skips per reason")
def invitations(ws: WorkspaceDep, survey: str | None = None) -> list[dict[str, Any]]:
    """Rows: survey, what (`email sent`, `email failed`, `email bounced`, `email deferred`, `widget answered`,
    `skipped: <reason>`), n, answered (their link was used), reminded."""
    return records(invitation_status(ws, survey))


@router.post("/api/v1/invitations/bounces", response_model=list[BounceRow], summary="Report bounced invitation e-mails")
def bounces(ws: WorkspaceDep, _token: TokenDep, body: JsonBody) -> list[dict[str, Any]]:
    """Body: a list of `{"message_id": ..., "email": ..., "reason": ...}` (message_id or email). Each matching
    invitation is marked bounced; the answer lists each item's result (`bounced` or `unknown`)."""
    if not isinstance(body, list) or not all(isinstance(b, dict) for b in body):
        raise InputError("body: a JSON list of objects with message_id and/or email, and reason")
    return records(record_bounces(ws, body))
