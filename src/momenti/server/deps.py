"""Typed dependencies of the API routes: the workspace, the settings, the caller's token, the JSON body."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from momenti.core.config import Settings
from momenti.core.errors import AuthError
from momenti.domains.tokens import verify_token
from momenti.server.records import BodyError, parse_json
from momenti.store.models import ApiToken
from momenti.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def get_settings(request: Request) -> Settings:
    return request.app.state.workspace.settings


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# A valid token is trusted for this long without asking the store again: at a thousand requests a second
# the check would otherwise be a store query per request. So a revoked token stops working within a second.
TOKEN_CACHE_SECONDS = 1.0

# auto_error=False: a missing header is answered by us (401 + WWW-Authenticate), not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="An API token: `momenti token create NAME` prints one.")


def get_token(request: Request, ws: WorkspaceDep,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiToken:
    if credentials is None or not credentials.credentials:
        raise AuthError("missing bearer token: send 'Authorization: Bearer <token>'")
    secret = credentials.credentials
    cache: dict[str, tuple[float, ApiToken]] = request.app.state.token_cache
    hit = cache.get(secret)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    # A Core connection, not an ORM session: this runs on every API call not answered from the cache.
    with ws.engine.connect() as conn:
        token = verify_token(conn, secret)
        conn.commit()
    if token is None:
        cache.pop(secret, None)
        raise AuthError("invalid or revoked token")
    if len(cache) > 10_000:  # many distinct tokens: start over rather than grow
        cache.clear()
    cache[secret] = (now + TOKEN_CACHE_SECONDS, token)
    return token


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
