"""Abuse limits of the public survey routes (/s/..., /w/..., /u/...).

- Request size: `BodySizeLimit`, an ASGI middleware, refuses a public POST larger than
  MOMENTI_PUBLIC_MAX_BODY_BYTES (413) before anything parses it, whether it declares its length or streams it.
- Rate: token buckets kept in the store (store/rate.py, table rate_buckets), one per client IP and one per
  link token (MOMENTI_RATE_IP_* and MOMENTI_RATE_LINK_*), so a limit holds across every server process. A
  bucket holds `burst` tokens and refills at `per_minute`; an empty bucket answers 429 with Retry-After. A link
  token is hashed before it becomes a key. The sign-in limit (server/web/auth_pages.py) is a bucket of the same
  kind; the hourly `rate_bucket_cleanup` job (`cleanup`) deletes the buckets idle long enough to be full.
- Honeypot: a form field `website`, hidden from people (CSS and aria-hidden, and tabindex -1); a bot that fills
  it gets the normal "thank you" and nothing is written.

The survey pages call `check_submission(request, form)` first in every POST handler: it raises `RateLimited`
(an HTTPException, 429) or returns False for a honeypot hit (pretend success, write nothing), True otherwise.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import Engine
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from momenti.store import rate

HONEYPOT = "website"
PUBLIC_PREFIXES = ("/s/", "/w/", "/u/")
MAX_KEY = 200  # the length of rate_buckets.key


class RateLimited(HTTPException):
    def __init__(self, retry_after: float, what: str) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(status_code=429, detail=f"too many submissions from this {what}; retry in {seconds} s",
                         headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class TokenBucket:
    """Per-key token buckets in the store: `allow(key)` takes one token if there is one. `prefix` names the
    limit (`ip`, `link`, `login`): the stored key is `prefix:key`."""

    def __init__(self, engine: Engine, per_minute: float, burst: int, prefix: str) -> None:
        self.engine = engine
        self.rate = max(per_minute, 1e-9) / 60.0  # tokens per second
        self.burst = max(1, int(burst))
        self.prefix = prefix

    def allow(self, key: str, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until a token is available). `now`: epoch seconds (the wall clock, which every
        process shares), injectable for tests."""
        now = time.time() if now is None else now
        return rate.take(self.engine, f"{self.prefix}:{key}"[:MAX_KEY], self.rate, self.burst, now)

    def cleanup(self, now: float | None = None) -> int:
        """Delete this limit's buckets that are full again (idle for burst / rate seconds); how many."""
        now = time.time() if now is None else now
        return rate.forget_full(self.engine, f"{self.prefix}:", self.rate, self.burst, now)


def login_bucket(engine: Engine, settings: Any) -> TokenBucket:
    """MOMENTI_LOGIN_RATE_PER_MINUTE sign-in attempts per IP at once, then that many a minute."""
    return TokenBucket(engine, settings.login_rate_per_minute, settings.login_rate_per_minute, "login")


class Limiter:
    def __init__(self, engine: Engine, settings: Any) -> None:
        self.ip = TokenBucket(engine, settings.rate_ip_per_minute, settings.rate_ip_burst, "ip")
        self.link = TokenBucket(engine, settings.rate_link_per_minute, settings.rate_link_burst, "link")


def cleanup(ws: Any, now: float | None = None) -> int:
    """The periodic job: forget the full buckets of every limit of the workspace `ws`; how many rows."""
    lim = Limiter(ws.engine, ws.settings)
    return sum(b.cleanup(now) for b in (lim.ip, lim.link, login_bucket(ws.engine, ws.settings)))


_LIMITER_LOCK = threading.Lock()


def limiter(request: Request) -> Limiter:
    """The app's limiter, made on first use from the workspace's settings."""
    state = request.app.state
    found = getattr(state, "reach_limiter", None)
    if found is None:
        with _LIMITER_LOCK:
            found = getattr(state, "reach_limiter", None)
            if found is None:
                found = state.reach_limiter = Limiter(state.workspace.engine, state.workspace.settings)
    return found


def client_ip(request: Request) -> str:
    # request.client is the peer, or the forwarded client when uvicorn trusts the proxy (--forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


def check_rate(request: Request, token: str | None = None) -> None:
    """Take one token from the client's IP bucket and, if a link token is given, from that link's bucket."""
    lim = limiter(request)
    ok, wait = lim.ip.allow(client_ip(request))
    if not ok:
        raise RateLimited(wait, "address")
    if token:
        # A hash as the key: the bucket table never holds the bearer links themselves.
        ok, wait = lim.link.allow(hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32])
        if not ok:
            raise RateLimited(wait, "link")


async def read_form(request: Request, **limits: Any) -> FormData:
    """A public form as posted, without NUL characters: a NUL is never text a person meant (a browser does not
    type one) and PostgreSQL refuses to store it, which answered 500 to the survey page and the widget."""
    raw = await request.form(**limits)
    return FormData([(k, v.replace("\x00", "") if isinstance(v, str) else v) for k, v in raw.multi_items()])


def check_submission(request: Request, form: Mapping[str, Any]) -> bool:
    """Call first in a public POST handler. Raises RateLimited (429) when the client or the link is over its
    limit; returns False when the honeypot is filled (answer as if it worked, write nothing); True otherwise."""
    declared = request.headers.get("content-length")
    limit = request.app.state.workspace.settings.public_max_body_bytes
    if declared and declared.isdigit() and int(declared) > limit:  # BodySizeLimit normally stopped it already
        raise HTTPException(status_code=413, detail=f"request larger than {limit} bytes")
    token = form.get("t") or request.query_params.get("t")
    check_rate(request, str(token) if token else None)
    return not str(form.get(HONEYPOT) or "").strip()


# -- request size ------------------------------------------------------------------------------------------


class BodySizeLimit:
    """Refuse public POST bodies over `limit` bytes with 413, counting what actually arrives (a client may
    declare no length, or lie about it)."""

    def __init__(self, app: ASGIApp, limit: int, prefixes: tuple[str, ...] = PUBLIC_PREFIXES) -> None:
        self.app = app
        self.limit = limit
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") \
                or not str(scope.get("path", "")).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _too_large(send, self.limit)
                return
        # Read the whole body first (it is small by definition), so the app runs only on a body within the
        # limit: refusing half-way through would leave the app with a truncated form or a disconnect.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await _too_large(send, self.limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would say it

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = f"request larger than {limit} bytes".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
