"""The ingest fast path (server/fast_ingest.py) answers exactly what the route answers, and leaves to the route
everything that is not ordinary: another scope, no token, an Idempotency-Key, a rejected record, a new key."""

from __future__ import annotations

from typing import Any

import pytest

from api_helpers import Api, response
from auth_helpers import make_token
from momenti.server.api import writes


@pytest.fixture
def routed(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds of the writes the route itself handled (the fast path answered the others)."""
    calls: list[str] = []
    original = writes.ingest

    async def counting(request: Any, ws: Any, kind: str, payload: Any, token_id: int) -> Any:
        calls.append(kind)
        return await original(request, ws, kind, payload, token_id)

    monkeypatch.setattr(writes, "ingest", counting)
    api.post("/api/v1/responses", response(0))  # the first write of the answer keys goes through the route
    calls.clear()
    return calls


def test_ordinary_writes_take_the_fast_path_with_the_routes_answer(api: Api, routed: list[str]) -> None:
    fast = api.post("/api/v1/responses", response(1))
    assert fast.status_code == 201 and fast.json() == {"added": 1, "duplicates": 0, "ids": ["r1"]}
    again = api.post("/api/v1/responses", response(1))
    assert again.status_code == 200 and again.json() == {"added": 0, "duplicates": 1, "ids": ["r1"]}
    batch = api.post("/api/v1/responses", [response(2), response(3), response(2)])
    assert batch.status_code == 201 and batch.json() == {"added": 2, "duplicates": 1, "ids": ["r2", "r3", "r2"]}
    assert routed == []
    # The security headers of every answer are on these too (the fast path sits inside their middleware).
    assert "default-src 'none'" in fast.headers["content-security-policy"]
    assert fast.headers["x-content-type-options"] == "nosniff"

    # The same record through the route (an Idempotency-Key sends it there) gets the same answer.
    keyed = api.post("/api/v1/responses", response(4), key="k-4")
    assert routed == ["responses"]
    assert keyed.status_code == 201 and keyed.json() == {"added": 1, "duplicates": 0, "ids": ["r4"]}
    assert api.post("/api/v1/responses", response(4)).json() == {"added": 0, "duplicates": 1, "ids": ["r4"]}

    events = api.post("/api/v1/events", {"event_id": "e1", "customer_id": "c1", "activity": "login",
                                         "timestamp": "2025-01-15T10:00:00Z"})
    assert events.status_code == 201 and events.json()["ids"] == ["e1"] and routed == ["responses"]


def test_what_is_not_ordinary_goes_to_the_route(api: Api, routed: list[str]) -> None:
    read_only = make_token(api.ws, "read")
    refused = api.client.post("/api/v1/responses", json=response(5), headers={"Authorization": f"Bearer {read_only}"})
    assert refused.status_code == 403 and "ingest" in refused.json()["detail"]
    unknown = api.client.post("/api/v1/responses", json=response(5), headers={"Authorization": "Bearer mom_nope"})
    assert unknown.status_code == 401
    bad = api.post("/api/v1/responses", response(6, touchpoint="no-such-touchpoint"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:3] == ["body", 0, "touchpoint"]
    shape = api.post("/api/v1/responses", {"customer_id": "c1"})
    assert shape.status_code == 422
    new_key = api.post("/api/v1/responses", response(7, answers={"nps": 8, "effort_extra": 3}))
    assert new_key.status_code == 201
    # Route: the refused scope never reaches it (the app's permission check answers first); the bad touchpoint,
    # the bad shape and the new key are its to judge.
    assert routed == ["responses", "responses", "responses"]
    assert api.post("/api/v1/responses", response(8, answers={"nps": 8, "effort_extra": 2})).status_code == 201
    assert routed == ["responses", "responses", "responses"]  # a key once created is known: fast again
