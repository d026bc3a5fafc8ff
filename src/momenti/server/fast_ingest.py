"""The common ingest request answered without the framework's per-request machinery.

`POST /api/v1/responses` (events, feedback) with a bearer token is the one route called thousands of times a
second: an interaction log or a survey tool posting each record as it happens. FastAPI's routing, dependency
solving and exception layers cost it more CPU than validating and writing the record (bench/http_ingest.py).
This middleware answers that request itself when everything about it is ordinary: a token the auth cache
(server/auth.py) resolves, the route's permission granted by the permission table, a JSON body within the
limit, records the shared models accept whose answer keys are all known, and a write the group-commit writer
accepts. It runs the very functions the route runs (`validate_items`, `flatten`, the writer, `WriteResult`), so
the answer is the route's answer.

Anything else (no or unknown token, an Idempotency-Key, a body to refuse, a record with a problem, a new answer
key) goes on to the app with the body it already read, and the route answers as it always does: refusals and
their wording have one home. It sits inside the security-header, error and NUL middlewares, so its answers get
the same headers and a bug here answers 500 like any other.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from momenti.core.errors import AuthError
from momenti.ingest.specs import KINDS
from momenti.server.auth import token_principal
from momenti.server.records import BodyError, answer_keys, flatten, parse_json, validate_items
from momenti.server.route_permissions import permission_of
from momenti.server.schemas import WriteResult

PATHS = {f"/api/v1/{kind}": kind for kind in ("responses", "events", "feedback")}


class FastIngest:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state  # the FastAPI app's state: workspace, writer, syncer, token cache, known questions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = PATHS.get(scope.get("path", "")) if scope["type"] == "http" and scope["method"] == "POST" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        secret = _bearer(scope)
        if secret is None:
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive, self.state.workspace.settings.api_max_body_bytes)
        answer = await self._answer(kind, secret, scope, body) if complete else None
        if answer is None:  # the route decides: give it the body read so far and the rest still unread
            await self.app(scope, _replay(body, complete, receive), send)
            return
        status, payload = answer
        data = json.dumps(payload, separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    async def _answer(self, kind: str, secret: str, scope: Scope, body: bytes) -> tuple[int, dict] | None:
        state = self.state
        try:
            principal = token_principal(state, secret, cached_only=True)
            if principal is None:
                principal = await run_in_threadpool(token_principal, state, secret)
        except AuthError:
            return None
        permission = permission_of("POST", scope["path"])
        if principal is None or permission is None or not principal.allows(permission):
            return None
        ws = state.workspace
        try:
            records = flatten(kind, validate_items(kind, parse_json(body), ws.settings.api_max_batch))
        except BodyError:
            return None
        if KINDS[kind].answers and not answer_keys(records) <= state.known_questions:
            return None
        summary = await state.writer.write_async(kind, records)
        if summary.rejected:  # nothing was written: the route writes nothing either and words the refusal
            return None
        result = WriteResult(added=summary.added, duplicates=summary.duplicates,
                             ids=[r[KINDS[kind].id_field] for r in records])
        return (201 if summary.added else 200), result.model_dump()


def _bearer(scope: Scope) -> str | None:
    """The bearer secret, when the request is an ordinary token call without an Idempotency-Key."""
    secret = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not rest.strip():
                return None
            secret = rest.strip()
        elif name == b"idempotency-key":
            return None
    return secret


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, up to `limit` bytes; (what was read, whether that is all of it)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: the route sees the same
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay
