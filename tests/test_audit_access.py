"""Every customer-level read, administrative write and refusal is written to the audit log by one dependency
(server/auth.py), whatever the route: with the route, the customer's pseudonym, the parameters' names and never
their values."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

import momenti
from api_helpers import make_api
from auth_helpers import add_user, make_token, sign_in
from momenti.store.access import AuditEntry


def _entries(ws: momenti.Workspace) -> list[tuple[str, str, str | None, dict | None]]:
    with ws.session() as s:
        return [tuple(r) for r in s.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.target,
                                                   AuditEntry.detail).order_by(AuditEntry.id))]


def test_reads_writes_and_refusals_are_audited_in_one_place(workspace: momenti.Workspace) -> None:
    gen = make_api(workspace)
    api = next(gen)
    try:
        read = {"Authorization": f"Bearer {make_token(api.ws, 'read')}"}
        ingest = {"Authorization": f"Bearer {make_token(api.ws, 'ingest')}"}
        assert api.client.get("/api/v1/text/comments?limit=5&q=mario.rossi@example.com",
                              headers=read).status_code == 200
        assert api.client.get("/api/v1/metrics/nps", headers=read).status_code == 200  # an aggregate: not audited
        assert api.client.get("/api/v1/customers/C-9/timeline", headers=read).status_code == 200
        assert api.client.get("/api/v1/text/comments", headers=ingest).status_code == 403
        n = len(_entries(api.ws))
        api.client.post("/api/v1/responses", headers=ingest, json={
            "customer_id": "C-9", "touchpoint": "branch-visit", "submitted_at": "2026-09-01T10:00:00Z",
            "answers": {"nps": 9}})
        assert len(_entries(api.ws)) == n  # ingest writes are counted by the import log, not audited one by one
        add_user(api.ws, "viewer@bank.example", "viewer")
        viewer = TestClient(api.app)
        assert sign_in(viewer, "viewer@bank.example").status_code == 303
        assert viewer.get("/cases").status_code == 403
        entries = _entries(api.ws)
        comments = [e for e in entries if e[1] == "access.read" and e[2] == "/api/v1/text/comments"]
        assert len(comments) == 1 and comments[0][0].startswith("token:")
        assert comments[0][3]["params"] == ["limit", "q"]
        assert not any("mario.rossi" in str(e) for e in entries)  # parameter names, never values
        timeline = [e for e in entries if e[1] == "access.read" and (e[2] or "").startswith("/api/v1/customers/")]
        assert timeline and "C-9" not in timeline[0][2] and api.ws.customer_ref("C-9") in timeline[0][2]
        assert not any(e[2] == "/api/v1/metrics/{metric}" for e in entries)
        refused = [e for e in entries if e[1] == "access.refused"]
        assert {(e[0].split(":")[0], e[2]) for e in refused} == {("token", "/api/v1/text/comments"),
                                                                ("user", "/cases")}
    finally:
        next(gen, None)
