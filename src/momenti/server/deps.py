"""Typed dependencies of the API routes: the workspace, the settings, the caller's token, the JSON body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from momenti.core.config import Settings
from momenti.core.errors import AuthError
from momenti.domains.access.permissions import AGGREGATE_ONLY_ROLES
from momenti.server.auth import current_principal
from momenti.server.disclosure import AggregateView
from momenti.server.records import BodyError, parse_json
from momenti.store.access import ApiToken
from momenti.workspace import Workspace


# These dependencies are `async def` although they await nothing: FastAPI runs a plain `def` dependency in the
# thread pool, a hop per dependency per request that the ingest path measurably paid (bench/http_ingest.py).
async def get_workspace(request: Request) -> Workspace:
    """The workspace, or for an aggregate-only reader (the viewer role) the view of it that withholds small
    groups from every answer (server/disclosure.py). The caller is the one server/auth.py resolved for the
    route's permission; a public route resolves nobody and serves no aggregate."""
    ws = request.app.state.workspace
    principal = request.scope.get("principal")
    if principal is not None and principal.role in AGGREGATE_ONLY_ROLES:
        return AggregateView(ws)  # type: ignore[return-value] - the same methods, answers withheld
    return ws


async def get_settings(request: Request) -> Settings:
    return request.app.state.workspace.settings


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="An API token: `momenti token create NAME --scope ...`.")


async def get_token(request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                    Depends(_bearer)]) -> ApiToken:
    """The API token of a write: server/auth.py has resolved and authorised it already (the route's
    permission is a token-only one, and cached the principal on the request: no store query here);
    `_credentials` only documents the bearer scheme in /docs."""
    principal = current_principal(request)
    if principal is None or principal.kind != "token":
        raise AuthError("this endpoint takes an API token: send 'Authorization: Bearer <token>'")
    return ApiToken(id=principal.id, name=principal.name, scopes=",".join(principal.scopes))


# auto_error=False: a missing header is answered by server/auth.py (401 + WWW-Authenticate).
TokenDep = Annotated[ApiToken, Depends(get_token)]


async def read_json_body(request: Request) -> Any:
    """The request body parsed as JSON, refusing more than MOMENTI_API_MAX_BODY_BYTES (413) without reading
    it all into memory first."""
    limit = request.app.state.workspace.settings.api_max_body_bytes
    too_big = BodyError([{"loc": ["body"], "msg": f"body larger than {limit} bytes (MOMENTI_API_MAX_BODY_BYTES); "
                          "split the batch", "type": "too_long"}], status_code=413)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


JsonBody = Annotated[Any, Depends(read_json_body)]
# A page of a paged list: bounded, so the offset it gives stays within what the databases' integers hold
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
# A row id in a path: within a 64-bit integer (a larger one cannot name a row, and the drivers refuse it)
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
