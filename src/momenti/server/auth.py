"""Who is calling, and may they: one dependency every route runs (installed on the app in app.py).

- The principal comes from a bearer token (`Authorization: Bearer mom_...`) or a session cookie
  (`momenti_session`, HttpOnly, SameSite=Lax, Secure over https). A token is trusted for TOKEN_CACHE_SECONDS
  without asking the store again (a thousand writes a second would otherwise each cost a query); a session
  is looked up on every request, so logout and disabling a user take effect at once.
- The route's permission comes from server/route_permissions.py. Nobody: 401 (API) or 303 to
  /login?next=... (pages). Not allowed: 403, JSON for the API, a page for HTML.
- CSRF: a state-changing request authenticated by the session cookie must carry the session's token (form
  field `csrf_token` or header `X-CSRF-Token`) and must not come from another site (Origin, Sec-Fetch-Site).
  Token-authenticated requests carry no ambient credential, so they need no CSRF token.
- Audit: here, for every route at once, every read of customer-level data or of administration, every
  state-changing call (bar the ingest writes, counted by the import log) and every refusal of a signed-in caller
  go to the audit log (domains/audit.py): who, the route, the customer's pseudonym when the route names one,
  the query's parameter names (never their values, which may be personal), the caller's address.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from momenti.core.errors import AuthError, ForbiddenError
from momenti.domains.access import sessions
from momenti.domains.access.sessions import Principal
from momenti.domains.tokens import token_scopes, verify_token
from momenti.server.route_permissions import permission_of

SESSION_COOKIE = "momenti_session"
CSRF_COOKIE = "momenti_csrf"  # the login form's double-submit token (no session yet)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_CACHE_SECONDS = 1.0
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Reads recorded in the audit log: customer-level data, comments, exports, administration.
AUDITED_READS = frozenset({"comments.read", "customers.read", "export", "timeline.read", "privacy.admin",
                           "users.admin", "tokens.admin", "settings.admin"})
UNAUDITED_WRITES = frozenset({"public", "signed_in", "ingest"})  # ingest: the import log counts every write


class SignInRequired(AuthError):
    """No session or token: pages send the browser to /login, the API answers 401."""

    def __init__(self, message: str, next_url: str = "/") -> None:
        super().__init__(message)
        self.next_url = next_url


class CsrfRefused(ForbiddenError):
    pass


def is_api(request: Request) -> bool:
    """Answered as an API (401/403 JSON), not as a page (a redirect to /login): a scraper has no browser."""
    return request.url.path.startswith("/api/") or request.url.path == "/metrics"


def token_principal(state: Any, secret: str, cached_only: bool = False) -> Principal | None:
    """The principal of a bearer `secret` for the app whose state is `state`; AuthError when the store knows no
    such live token. `cached_only`: None instead of asking the store (a caller on the event loop then asks from a
    thread)."""
    cache: dict[str, tuple[float, Principal]] = state.token_cache
    now = time.monotonic()
    hit = cache.get(secret)
    if hit is not None and hit[0] > now:
        return hit[1]
    if cached_only:
        return None
    ws = state.workspace
    # A Core connection, not an ORM session: this runs on every API call not answered from the cache.
    with ws.engine.connect() as conn:
        token = verify_token(conn, secret)
        conn.commit()
    if token is None:
        cache.pop(secret, None)
        raise AuthError("invalid or revoked token")
    principal = sessions.token_principal(token.id, token.name, token_scopes(token))
    if len(cache) > 10_000:  # many distinct tokens: start over rather than grow
        cache.clear()
    cache[secret] = (now + TOKEN_CACHE_SECONDS, principal)
    return principal


def current_principal(request: Request) -> Principal | None:
    """The caller, or None when nobody is signed in. Cached on the request."""
    if "principal" in request.scope:
        return request.scope["principal"]
    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthError("send 'Authorization: Bearer <token>'")
        principal = token_principal(request.app.state, secret.strip())
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            ws = request.app.state.workspace
            with ws.engine.connect() as conn:
                principal = sessions.resolve(conn, ws.settings, sid)
    request.scope["principal"] = principal
    return principal


def _same_site(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return False
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None  # no Origin at all: an old client; "null": a sandboxed or privacy-stripped one
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def check_csrf(request: Request, expected: str | None) -> None:
    """Refuse a cross-site request or one whose CSRF token is missing or wrong (constant-time compare)."""
    if not _same_site(request):
        raise CsrfRefused("cross-site request refused")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches it: the route reads the same form
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("missing or wrong CSRF token: reload the page and submit its form again")


async def authorize(request: Request) -> None:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    permission = permission_of(request.method, path) if path else None
    if permission is None:  # create_app refuses undeclared routes; this is the belt to those braces
        raise ForbiddenError("this route declares no permission")
    if permission == "public":
        return
    principal = current_principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired("sign in first: send 'Authorization: Bearer <token>' or a session cookie",
                             next_url=target)
    if principal.kind == "user" and request.method in UNSAFE:
        await check_csrf(request, principal.csrf_token)
    if not principal.allows(permission):
        await run_in_threadpool(_audit_access, request, principal, path, permission, "access.refused")
        who = f"role {principal.role}" if principal.kind == "user" else f"token scopes {','.join(principal.scopes)}"
        raise ForbiddenError(f"{who} may not do this (needs {permission})")
    unsafe = request.method in UNSAFE
    if (unsafe and permission not in UNAUDITED_WRITES) or (not unsafe and permission in AUDITED_READS):
        await run_in_threadpool(_audit_access, request, principal, path, permission,
                                "access.write" if unsafe else "access.read")


def _audit_access(request: Request, principal: Principal, path: str, permission: str, action: str) -> None:
    from momenti.domains import audit

    ws = request.app.state.workspace
    target = path
    customer = request.path_params.get("customer_id")
    if customer:
        target = f"{path} {ws.customer_ref(str(customer))}"
    detail = {"method": request.method, "permission": permission}
    if request.query_params:
        detail["params"] = sorted(set(request.query_params.keys()))[:20]
    with ws.session() as s, s.begin():
        audit.record(s, principal.label, action, target, detail,
                     ip=request.client.host if request.client else None)


def principal_dep(request: Request) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise SignInRequired("sign in first")
    return principal


def require(request: Request, permission: str) -> Principal:
    """Inside a route: a further permission (e.g. the kind of a query). Raises 403 when missing."""
    principal = principal_dep(request)
    if not principal.allows(permission):
        raise ForbiddenError(f"needs {permission}")
    return principal


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")


PrincipalDep = Annotated[Principal, Depends(principal_dep)]
