"""The admin page of users: list, create (with a one-time set-password link), disable/enable, change role
or team, reset a password. The same functions as `momenti user ...` (domains/access/users.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from momenti.core.errors import MomentiError, NotFoundError
from momenti.domains.access import users
from momenti.domains.access.permissions import ROLES
from momenti.server.auth import PrincipalDep
from momenti.server.deps import RowId
from momenti.server.web.chrome import chrome, page_language
from momenti.server.web.routes import templates
from momenti.store.access import User

router = APIRouter(tags=["web"], include_in_schema=False)



def _page(request: Request, status: int = 200, error: str | None = None, link: str | None = None) -> HTMLResponse:
    lang = page_language(request)
    ws = request.app.state.workspace
    with ws.session() as s:
        rows = [{"id": u.id, "email": u.email, "role": u.role, "team": team, "disabled": u.disabled_at is not None,
                 "locked": u.locked_until is not None, "last_login": u.last_login_at}
                for u, team in users.list_users(s)]
    return templates.TemplateResponse(request, "admin_users.html", {
        "lang": lang, "rows": rows, "roles": list(ROLES), "error": error, "link": link,
        "chrome": chrome(request, lang, "users")}, status_code=status)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request) -> HTMLResponse:
    return _page(request)


@router.post("/admin/users", response_class=HTMLResponse)
def create(request: Request, principal: PrincipalDep, email: Annotated[str, Form(max_length=320)],
           role: Annotated[str, Form(max_length=20)], team: Annotated[str, Form(max_length=200)] = "") -> Response:
    ws = request.app.state.workspace
    try:
        with ws.session() as s, s.begin():
            user = users.create_user(s, email, role, principal.label, team=team.strip() or None)
            link = users.password_link(s, user.email, ws.settings, principal.label)
    except MomentiError as exc:
        return _page(request, exc.status_code, str(exc))
    return _page(request, 201, link=link)


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def change(request: Request, principal: PrincipalDep, user_id: RowId, action: Annotated[str, Form(max_length=20)],
           role: Annotated[str, Form(max_length=20)] = "", team: Annotated[str, Form(max_length=200)] = "") -> Response:
    ws = request.app.state.workspace
    link = None
    try:
        with ws.session() as s, s.begin():
            user = s.get(User, user_id)
            if user is None:
                raise NotFoundError(f"no user {user_id}")
            if action in ("disable", "enable"):
                if action == "disable" and user.email == principal.name:
                    raise MomentiError("you cannot disable yourself")
                users.set_disabled(s, user.email, action == "disable", principal.label)
            elif action == "set_role":
                users.set_role(s, user.email, role, principal.label, team=team)
            elif action == "reset":
                link = users.password_link(s, user.email, ws.settings, principal.label)
            else:
                raise MomentiError(f"action {action!r}: disable, enable, set_role or reset")
    except MomentiError as exc:
        return _page(request, exc.status_code, str(exc))
    if link:
        return _page(request, 200, link=link)
    return RedirectResponse(f"/admin/users?lang={page_language(request)}", status_code=303)
