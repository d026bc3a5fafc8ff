"""Sign-in pages: /login (a form with a double-submit CSRF token), /logout, /password (a one-time
set-password link). Attempts are limited per IP address; repeated failures lock the account (domains/access).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from momenti.core.errors import InputError
from momenti.domains.access import sessions, users
from momenti.domains.surveys.abuse import TokenBucket, client_ip
from momenti.server.auth import CSRF_COOKIE, SESSION_COOKIE, check_csrf, current_principal
from momenti.server.web.chrome import page_language
from momenti.server.web.routes import templates

router = APIRouter(tags=["web"], include_in_schema=False)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(value: str | None) -> str:
    # Only a path of this site: "//evil.example" or "https://..." would make the login an open redirect.
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _rate_ok(request: Request) -> bool:
    """MOMENTI_LOGIN_RATE_PER_MINUTE sign-in attempts per IP at once, then that many a minute (app.py makes
    the token bucket, of the kind the public survey POSTs use: in the store, so it holds across processes)."""
    limiter: TokenBucket = request.app.state.login_limiter
    return limiter.allow(client_ip(request))[0]


def _with_csrf(request: Request, template: str, status: int, **ctx: object) -> HTMLResponse:
    """A form page carrying the double-submit token: the same value in the form (`csrf`) and the cookie."""
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, template, {**ctx, "csrf": token}, status_code=status)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/")
    return response


def _form(request: Request, lang: str, status: int = 200, error: str | None = None, email: str = "",
          next_url: str = "/") -> HTMLResponse:
    return _with_csrf(request, "login.html", status, lang=lang, error=error, email=email, next=next_url,
                      sso=bool(request.app.state.workspace.settings.oidc_issuer))


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the public name
    if current_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _form(request, page_language(request), next_url=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, email: Annotated[str, Form(max_length=320)] = "",
                       password: Annotated[str, Form(max_length=1024)] = "",
                       next: Annotated[str, Form(max_length=2000)] = "/") -> Response:  # noqa: A002
    lang = page_language(request)
    await check_csrf(request, request.cookies.get(CSRF_COOKIE))  # double submit: cookie == form field
    if not _rate_ok(request):
        return _form(request, lang, 429, _msg(lang, "rate"), email, _safe_next(next))
    ws = request.app.state.workspace
    with ws.session() as s, s.begin():  # committed on refusal too: the failure count and the lockout stay
        sid = sessions.sign_in(s, ws.settings, email, password, ip=client_ip(request),
                               user_agent=request.headers.get("user-agent"))
    if sid is None:
        return _form(request, lang, 401, _msg(lang, "refused"), email, _safe_next(next))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax", secure=_secure(request), path="/",
                        max_age=ws.settings.session_max_hours * 3600)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """The CSRF token was checked by server/auth.py (a session-authenticated POST)."""
    ws = request.app.state.workspace
    sid = request.cookies.get(SESSION_COOKIE)
    principal = current_principal(request)
    if sid and principal is not None:
        with ws.session() as s, s.begin():
            sessions.end(s, sid, principal.label, ip=client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, token: str = "") -> HTMLResponse:
    lang = page_language(request)
    ws = request.app.state.workspace
    try:
        with ws.session() as s:
            _link, user = users.link_user(s, token)
            email = user.email
    except InputError as exc:
        return _password_form(request, lang, 400, str(exc), token, None)
    return _password_form(request, lang, 200, None, token, email)


@router.post("/password", response_class=HTMLResponse)
async def password_submit(request: Request, token: Annotated[str, Form(max_length=200)] = "",
                          password: Annotated[str, Form(max_length=1024)] = "",
                          again: Annotated[str, Form(max_length=1024)] = "") -> Response:
    lang = page_language(request)
    await check_csrf(request, request.cookies.get(CSRF_COOKIE))
    if password != again:
        return _password_form(request, lang, 400, _msg(lang, "mismatch"), token, "")
    ws = request.app.state.workspace
    try:
        with ws.session() as s, s.begin():
            users.use_link(s, token, password)
    except InputError as exc:
        return _password_form(request, lang, 400, str(exc), token, "")
    return RedirectResponse("/login?done=1", status_code=303)


def _password_form(request: Request, lang: str, status: int, error: str | None, token: str,
                   email: str | None) -> HTMLResponse:
    return _with_csrf(request, "password.html", status, lang=lang, error=error, token=token, email=email)


_MESSAGES = {
    "it": {"refused": "E-mail o password errate, oppure l'account è bloccato o disattivato.",
           "rate": "Troppi tentativi da questo indirizzo: riprova tra un minuto.",
           "mismatch": "Le due password non coincidono."},
    "en": {"refused": "Wrong e-mail or password, or the account is locked or disabled.",
           "rate": "Too many attempts from this address: try again in a minute.",
           "mismatch": "The two passwords differ."},
}


def _msg(lang: str, key: str) -> str:
    return _MESSAGES[lang][key]
