"""Pure-ASGI middlewares every response goes through (no BaseHTTPMiddleware: it costs the hot write path a
task and a queue per request).

- `SecurityHeaders`: a Content-Security-Policy, X-Frame-Options, nosniff, a Referrer-Policy and, over https,
  Strict-Transport-Security on every response. No policy allows 'unsafe-inline' or 'unsafe-eval': styles come
  from files under /static/ or, on the one-request survey pages, from a <style> allowed by a per-response
  nonce; the one inline script of the widget and of /docs runs by a per-response nonce too. A
  route with a policy of its own (the survey pages, the widget, /docs) keeps it; X-Frame-Options then follows
  the policy's frame-ancestors, so the widget that host sites embed stays embeddable. An SVG picture answered
  as a document (the Kaplan-Meier plot) has its inline styles turned into presentation attributes
  (server/svg_styles.py), which no policy governs, so it draws the same under style-src 'self'.
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

from momenti.server.fast_ingest import FastIngest
from momenti.server.metrics import RequestMetrics
from momenti.server.svg_styles import presentation_attributes

log = logging.getLogger("momenti.server")

INTERNAL_ERROR = {"detail": "internal error; the server log has the details"}

# Pages of our own load only our own files: the stylesheet, inline SVG charts (styled by classes of the
# stylesheet), forms that post to themselves; no script runs. connect-src 'self' lets a tool driving a page (a
# browser test, a console) call the API.
DEFAULT_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# Sent where the route sets none (the survey, widget and unsubscribe pages send no-referrer: their addresses
# carry tokens).
REFERRER_POLICY = b"strict-origin-when-cross-origin"
# A year; browsers ignore the header on a plain-http answer, and it is sent only over https (or when the
# deployment's public URL is https: behind a proxy that does not pass the scheme on).
HSTS = b"max-age=31536000"


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


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        """`https`: the app's public URL is https, so every answer carries HSTS (the request's own scheme may be
        http behind a TLS-terminating proxy)."""
        self.app = app
        self.https = https

    def _headers(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = {k.lower() for k, _ in headers}
        csp = _header(headers, b"content-security-policy")
        if csp is None:
            csp = DEFAULT_CSP.encode()
            headers.append((b"content-security-policy", csp))
        frame = _frame_options(csp)
        if frame is not None and b"x-frame-options" not in names:
            headers.append((b"x-frame-options", frame))
        if b"x-content-type-options" not in names:
            headers.append((b"x-content-type-options", b"nosniff"))
        if b"referrer-policy" not in names:
            headers.append((b"referrer-policy", REFERRER_POLICY))
        if (self.https or scope.get("scheme") == "https") and b"strict-transport-security" not in names:
            headers.append((b"strict-transport-security", HSTS))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None  # the head of an SVG answer, sent once its body is rewritten
        chunks: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = self._headers(scope, list(message.get("headers", [])))
                message = {**message, "headers": headers}
                if _rewrites_svg(scope, headers):
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = presentation_attributes(b"".join(chunks))
                headers = [(k, v) for k, v in held["headers"] if k.lower() != b"content-length"]
                await send({**held, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                held = None
                message = {"type": "http.response.body", "body": body}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _rewrites_svg(scope: Scope, headers: list[tuple[bytes, bytes]]) -> bool:
    """An uncompressed SVG body to a GET (a HEAD has no body to rewrite)."""
    kind = (_header(headers, b"content-type") or b"").split(b";")[0].strip().lower()
    return kind == b"image/svg+xml" and scope.get("method") == "GET" and _header(headers, b"content-encoding") is None


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
    """Add the three (and the ingest fast path, server/fast_ingest.py); the last added is the outermost, so the
    headers reach every answer, the 500 included."""
    ws = getattr(app.state, "workspace", None)
    https = ws is not None and ws.settings.public_url.lower().startswith("https://")
    if ws is not None:
        app.add_middleware(FastIngest, state=app.state)  # innermost: the three below apply to its answers
    app.add_middleware(RejectNul)
    app.add_middleware(CatchErrors)
    app.add_middleware(SecurityHeaders, https=https)
    app.add_middleware(RequestMetrics)  # outermost: every answer counted, with the status the client got
