"""Errors to JSON: every failure answers `{"detail": ...}` with a meaningful status, never a bare 500 for
bad input.

- MomentiError subclasses carry their own status (InputError 400, AuthError 401, NotFoundError 404,
  ConflictError 409).
- BodyError (a write body that cannot be accepted) and FastAPI's own validation errors answer 422 with a
  list of `{"loc", "msg", "type"}` items, the shape FastAPI clients already parse.
- Anything else is a bug: api/middleware.py CatchErrors logs its traceback and answers 500 without internals
  (there, not as an exception handler here: Starlette re-raises after such a handler, and uvicorn then drops
  the connection).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from markupsafe import escape

from momenti.core.errors import AuthError, ForbiddenError, MomentiError
from momenti.server.auth import SignInRequired, is_api, login_url
from momenti.server.records import BodyError

# A refused page is a page, not JSON; small and self-contained (no template: this module answers for them).
_DENIED = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>momenti: not allowed</title>
<link rel="stylesheet" href="/static/momenti.css"></head><body><main class="denied"><h1>403</h1>
<p>{msg}</p><p lang="it">Il tuo ruolo non permette di aprire questa pagina.</p>
<p><a href="/">momenti</a></p></main></body></html>"""


def _plain_errors(errors: list[Any]) -> list[dict[str, Any]]:
    # Drop pydantic's "input"/"ctx"/"url": they may echo large or sensitive input and hold non-JSON objects.
    return [{"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")).removeprefix("Value error, "),
             "type": str(e.get("type", ""))} for e in errors]


async def _momenti_error(request: Request, exc: Exception) -> JSONResponse | HTMLResponse | RedirectResponse:
    assert isinstance(exc, MomentiError)
    wants_page = not is_api(request) and request.query_params.get("format") not in ("json", "csv")
    if isinstance(exc, SignInRequired) and not is_api(request):
        return RedirectResponse(login_url(exc.next_url), status_code=303)
    if isinstance(exc, ForbiddenError) and wants_page:
        return HTMLResponse(_DENIED.format(msg=escape(str(exc))), status_code=403)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
    return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers=headers)


async def _body_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyError)
    return JSONResponse({"detail": exc.errors}, status_code=exc.status_code)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _plain_errors(list(exc.errors()))}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(MomentiError, _momenti_error)
    app.add_exception_handler(BodyError, _body_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
