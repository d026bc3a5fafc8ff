"""Signed-in test clients: the API and the pages need a token or a session (server/auth.py)."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

from momenti.domains.tokens import create_token

_names = itertools.count(1)


def make_token(ws: Any, scope: str = "admin") -> str:
    with ws.session() as s, s.begin():
        _, secret = create_token(s, f"test-{scope}-{next(_names)}", scope)
    return secret


class AuthedClient(TestClient):
    """A TestClient that sends an admin token on every request (a request's own Authorization header wins)."""

    def __enter__(self) -> AuthedClient:
        client = super().__enter__()
        client.headers["Authorization"] = f"Bearer {make_token(self.app.state.workspace)}"  # type: ignore[attr-defined]
        return client


def add_user(ws: Any, email: str, role: str, password: str = "Tramonto-Verde-Pino-2026",
             team: str | None = None) -> None:
    from momenti.domains.access.users import create_user

    with ws.session() as s, s.begin():
        create_user(s, email, role, "test", team=team, password=password)


def csrf_of(html: str) -> str:
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf_token field in the page"
    return m.group(1)


def sign_in(client: TestClient, email: str, password: str = "Tramonto-Verde-Pino-2026") -> Any:
    """Sign in through the /login form as a browser would (same-origin POST with the form's CSRF field)."""
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text),
                                       "next": "/"},
                       headers={"Origin": "http://testserver"}, follow_redirects=False)
