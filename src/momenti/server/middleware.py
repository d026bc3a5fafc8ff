"""Pure-ASGI middlewares every response goes through (no BaseHTTPMiddleware: it costs the hot write path a
task and a queue per request).

- `SecurityHeaders`: a Content-Security-Policy, X-Frame-Options and nosniff on every response. A route with a
  policy of its own (the survey pages, the widget, /docs) keeps it; X-Frame-Options then follows the policy's
  frame-ancestors, so the widget that host sites embed stays embeddable.
- `CatchErrors`: an unexpected exception answers 500 `{"detail": ...}` (no stack trace) and is logged with its
  traceback, and is *not* re-raised: Starlette's ServerErrorMiddleware re-raises after answering, and uvicorn
  then drops the keep-alive connection, so the client's next request on it fails with ECONNRESET.
- `RejectNul`: a NUL character in a query value or the path answers 422 naming the parameter. Query values reach
  the warehouse as SQL string literals (Ibis compiles them in), and neither DuckDB nor PostgreSQL accepts a NUL
  in one; no legitimate value holds one.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("momenti.server")

INTERNAL_ERROR = {"detail": "internal error; the server log has the details"}

# Pages of our own load only our own files: the stylesheet, inline SVG charts, forms that post to themselves;
# no script runs. connect-src 'self' lets a tool driving a page (a browser test, a console) call the API.
DEFAULT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


async def _send_json(send: Send, status: int, body: object) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def _frame_options(csp: bytes) -> bytes | None:
    """X-Frame-Options matching a policy's frame-ancestors (for browsers without CSP 2); None: framing allowed."""
    for directive in csp.split(b";"):
        name, _, value = directive.strip().partition(b" ")
        if name.lower() == b"frame-ancestors":
            value = value.strip()
            return b"DENY" if value == b"'none'" else b"SAMEORIGIN" if value == b"'self'" else None
    return None


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                csp = next((v for k, v in headers if k.lower() == b"content-security-policy"), None)
                if csp is None:
                    csp = DEFAULT_CSP.encode()
                    headers.append((b"content-security-policy", csp))
                frame = _frame_options(csp)
                if frame is not None and b"x-frame-options" not in names:
                    headers.append((b"x-frame-options", frame))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CatchErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:  # noqa: BLE001 - the last line of defence: every bug answers, none kills the connection
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:  # once the head is sent there is no status left to change; uvicorn ends that one
                await _send_json(send, 500, INTERNAL_ERROR)


class RejectNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = _nul_problem(scope)
            if problem is not None:
                await _send_json(send, 422, {"detail": [problem]})
                return
        await self.app(scope, receive, send)


def _nul_problem(scope: Scope) -> dict | None:
    msg = "contains a NUL character (\\x00); remove it"
    if "\x00" in scope.get("path", ""):
        return {"loc": ["path"], "msg": msg, "type": "value_error"}
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query:  # a NUL only arrives percent-encoded: the fast path of every other request
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return {"loc": ["query", name.replace("\x00", "\\x00")], "msg": msg, "type": "value_error"}
    return None


def install(app: FastAPI) -> None:
    """Add the three; the last added is the outermost, so the headers reach every answer, the 500 included."""
    app.add_middleware(RejectNul)
    app.add_middleware(CatchErrors)
    app.add_middleware(SecurityHeaders)
