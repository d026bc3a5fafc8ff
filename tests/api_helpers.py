"""The REST API under test: an app on a workspace's settings, an admin token, and request bodies. Shared by
the API test modules (writes, metrics, hardening, new questions)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

import momenti
from momenti.core.config import get_settings
from momenti.domains.tokens import create_token
from momenti.server.app import create_app


@dataclass
class Api:
    client: TestClient
    app: Any
    secret: str

    @property
    def ws(self) -> momenti.Workspace:
        return self.app.state.workspace

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def post(self, path: str, body: Any = None, *, content: bytes | None = None, key: str | None = None) -> Any:
        h = {**self.auth, **({"Idempotency-Key": key} if key is not None else {})}
        if content is not None:
            return self.client.post(path, content=content, headers={**h, "Content-Type": "application/json"})
        return self.client.post(path, json=body, headers=h)

    def count(self, model: type) -> int:
        with self.ws.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)))

    def seed(self, rows: list[dict]) -> None:
        # Under the app's write lock: the app's background sync may run at any moment.
        with self.app.state.syncer.lock:
            summary = self.ws.import_records("responses", rows, source="test", strict=True)
        assert summary.rejected == 0, summary.errors


def _settings(ws: momenti.Workspace, **over: object):  # noqa: ANN202
    base = {"data_dir": ws.settings.data_dir, "sync_debounce_s": 0.05}
    if ws.settings.database_url:
        base["database_url"] = ws.settings.database_url
    return get_settings(**{**base, **over})


def make_api(ws: momenti.Workspace, **over: object) -> Iterator[Api]:
    app = create_app(_settings(ws, **over))
    with app.state.workspace.session() as s, s.begin():
        _, secret = create_token(s, "tests", "admin")  # admin: the write endpoints, reads and survey editing
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {secret}"  # reads need a token too (server/auth.py)
        yield Api(client, app, secret)


def response(i: int = 1, **over: Any) -> dict[str, Any]:
    body = {"response_id": f"r{i}", "customer_id": f"c{i}", "touchpoint": "branch-visit",
            "submitted_at": "2025-01-15T10:00:00Z", "channel": "branch", "language": "it",
            "answers": {"nps": 9, "csat": 5, "comment": "gentili"}}
    body.update(over)
    return body


def scored(n: int, touchpoint: str, month: str, scores: list[int], prefix: str) -> list[dict]:
    return [{"response_id": f"{prefix}{i}", "customer_id": f"c{i % 17}", "touchpoint": touchpoint,
             "submitted_at": f"{month}-{1 + i % 27:02d}T12:00:00", "nps": scores[i % len(scores)],
             "csat": 1 + scores[i % len(scores)] // 2.5} for i in range(n)]
