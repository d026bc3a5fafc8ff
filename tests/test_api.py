"""REST API writes: tokens, write validation (422 shapes), batches, idempotency, concurrency, shutdown.

Write tests run on a SQLite and a PostgreSQL store (`ws_any`); the app opens its own Workspace(bulk=False) on
the same settings, as the server does. Reads are in test_api_metrics.py, the debounced sync in test_syncer.py,
the shared app and bodies in api_helpers.py.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import momenti
from api_helpers import Api, _settings, make_api, response
from momenti.core.errors import ConflictError, NotFoundError
from momenti.domains.tokens import LAST_USED_RESOLUTION, create_token, list_tokens, revoke_token, verify_token
from momenti.server.app import create_app
from momenti.store.access import ApiToken, IdempotencyKey
from momenti.store.models import Event, Feedback, Response

# --- tokens (store layer) ------------------------------------------------------------------------


def test_tokens_create_list_verify_revoke(workspace: momenti.Workspace) -> None:
    with workspace.session() as s, s.begin():
        row, secret = create_token(s, "crm-export")
    assert secret.startswith("mom_") and len(secret) == 44
    assert row.prefix == secret[:8] and secret not in row.token_hash and len(row.token_hash) == 64
    with workspace.session() as s, s.begin():
        with pytest.raises(ConflictError):
            create_token(s, "crm-export")  # an active token already has the name
    with workspace.session() as s, s.begin():
        found = verify_token(s, secret)
        assert found is not None and found.id == row.id and found.last_used_at is not None
        first_use = found.last_used_at
        assert verify_token(s, secret + "x") is None
        assert verify_token(s, "") is None
    with workspace.session() as s, s.begin():
        assert verify_token(s, secret).last_used_at == first_use  # not rewritten within a minute
        s.get(ApiToken, row.id).last_used_at = first_use - LAST_USED_RESOLUTION
    with workspace.session() as s, s.begin():
        assert verify_token(s, secret).last_used_at > first_use - LAST_USED_RESOLUTION
    with workspace.session() as s, s.begin():
        assert revoke_token(s, "crm-export").revoked_at is not None
    with workspace.session() as s, s.begin():
        assert verify_token(s, secret) is None
        assert [t.name for t in list_tokens(s, include_revoked=False)] == []
        assert revoke_token(s, str(row.id)).id == row.id  # by id, and twice is harmless
        with pytest.raises(NotFoundError):
            revoke_token(s, "nobody")
        _, again = create_token(s, "crm-export")  # the name is free again after revocation
    assert again != secret


# --- auth ----------------------------------------------------------------------------------------


def test_write_needs_a_valid_token(api: Api) -> None:
    no_header = api.client.post("/api/v1/responses", json=response(), headers={"Authorization": ""})
    assert no_header.status_code == 401 and no_header.headers["www-authenticate"] == "Bearer"
    assert "bearer" in no_header.json()["detail"].lower()
    unknown = api.client.post("/api/v1/responses", json=response(), headers={"Authorization": "Bearer mom_nope"})
    assert unknown.status_code == 401
    basic = api.client.post("/api/v1/responses", json=response(), headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401
    with api.ws.session() as s, s.begin():
        _, other = create_token(s, "soon-revoked")
        revoke_token(s, "soon-revoked")
    revoked = api.client.post("/api/v1/responses", json=response(), headers={"Authorization": f"Bearer {other}"})
    assert revoked.status_code == 401 and revoked.json() == {"detail": "invalid or revoked token"}
    assert api.count(Response) == 0
    good = api.post("/api/v1/responses", response())
    assert good.status_code == 201, good.text
    assert api.count(Response) == 1


# --- writes --------------------------------------------------------------------------------------


def test_single_and_batch_writes(api: Api) -> None:
    one = api.post("/api/v1/responses", response(1))
    assert one.status_code == 201
    assert one.json() == {"added": 1, "duplicates": 0, "ids": ["r1"]}
    no_id = response(3)
    del no_id["response_id"]
    batch = api.post("/api/v1/responses", [response(1), response(2), no_id])
    assert batch.status_code == 201
    body = batch.json()
    assert body["added"] == 2 and body["duplicates"] == 1
    assert body["ids"][:2] == ["r1", "r2"] and body["ids"][2].startswith("h:")
    again = api.post("/api/v1/responses", [no_id])  # the content hash recognises a retried record
    assert again.status_code == 200 and again.json() == {"added": 0, "duplicates": 1, "ids": [body["ids"][2]]}
    assert api.count(Response) == 3
    with api.ws.session() as s:
        stored = s.scalar(select(Response).where(Response.external_id == "r2"))
        assert stored.customer_key == "c2" and stored.channel == "branch" and stored.language == "it"


def test_same_record_id_twice_is_not_duplicated(api: Api) -> None:
    assert api.post("/api/v1/responses", response(7)).status_code == 201
    second = api.post("/api/v1/responses", response(7))
    assert second.status_code == 200
    assert second.json() == {"added": 0, "duplicates": 1, "ids": ["r7"]}
    twice_in_batch = api.post("/api/v1/responses", [response(8), response(8)])
    assert twice_in_batch.status_code == 201 and twice_in_batch.json()["added"] == 1
    assert api.count(Response) == 2


def test_events_and_feedback(api: Api) -> None:
    ev = api.post("/api/v1/events", [
        {"event_id": "e1", "customer_id": "c1", "timestamp": "2025-01-15T10:00:00+01:00",
         "touchpoint": "contact-centre-call", "reason": "card", "duration_s": 120, "attributes": {"queue": "A"}},
        {"customer_id": "c1", "timestamp": "2025-01-15T11:00:00", "activity": "app-open"},
    ])
    assert ev.status_code == 201 and ev.json()["added"] == 2 and ev.json()["ids"][0] == "e1"
    fb = api.post("/api/v1/feedback", {"feedback_id": "f1", "source": "review", "text": "Ottimo servizio",
                                       "rating": 9, "touchpoint": "branch-visit"})
    assert fb.status_code == 201 and fb.json()["ids"] == ["f1"]
    assert api.count(Event) == 2 and api.count(Feedback) == 1
    bad = api.post("/api/v1/events", {"customer_id": "c1", "timestamp": "2025-01-15T10:00:00", "activity": "x",
                                      "duration_s": -5})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", 0, "duration_s"]
    reserved = api.post("/api/v1/events", {"customer_id": "c1", "timestamp": "2025-01-15T10:00:00",
                                           "activity": "x", "attributes": {"reason": "dup"}})
    assert reserved.status_code == 422 and reserved.json()["detail"][0]["loc"] == ["body", 0, "attributes"]
    nameless = api.post("/api/v1/events", [{"customer_id": "c1", "timestamp": "2025-01-15T10:00:00"}])
    assert nameless.status_code == 422 and nameless.json()["detail"][0]["loc"] == ["body", 0]
    assert "activity" in nameless.json()["detail"][0]["msg"]
    no_text = api.post("/api/v1/feedback", {"source": "review", "rating": 11})
    assert no_text.status_code == 422
    assert ["body", 0, "text"] in [e["loc"] for e in no_text.json()["detail"]]
    assert api.count(Event) == 2 and api.count(Feedback) == 1


BAD_BODIES = [
    pytest.param({k: v for k, v in response().items() if k != "customer_id"},
                 ["body", 0, "customer_id"], "missing", "Field required", id="missing-field"),
    pytest.param([response(1), response(2, touchpoint="nowhere")],
                 ["body", 1, "touchpoint"], "value_error", "unknown touchpoint nowhere", id="unknown-touchpoint"),
    pytest.param([response(1), response(2, answers={"nps": 11})],
                 ["body", 1, "answers", "nps"], "value_error", "outside 0..10", id="score-out-of-range"),
    pytest.param(response(1, answers={"csat": 4.5}),
                 ["body", 0, "answers", "csat"], "value_error", "not a whole number", id="score-not-integer"),
    pytest.param(response(1, customer_id=42),
                 ["body", 0, "customer_id"], "string_type", "valid string", id="wrong-type-id"),
    pytest.param(response(1, answers={"nps": [9]}),
                 ["body", 0, "answers", "nps"], "value_error", "a number, a string or null", id="wrong-type-answer"),
    pytest.param(response(1, answers={"nps": "nine"}),
                 ["body", 0, "answers", "nps"], "value_error", "not a number", id="text-score"),
    pytest.param(response(1, submitted_at="yesterday"),
                 ["body", 0, "submitted_at"], "datetime_from_date_parsing", "datetime", id="bad-timestamp"),
    pytest.param(response(1, stars=5),
                 ["body", 0, "stars"], "extra_forbidden", "not permitted", id="unknown-field"),
    pytest.param(response(1, answers={"touchpoint": 3}),
                 ["body", 0, "answers"], "value_error", "field of the record", id="answer-key-reserved"),
    pytest.param(42, ["body"], "type_error", "JSON object", id="not-an-object"),
    pytest.param([], ["body"], "too_short", "at least one", id="empty-list"),
]


@pytest.mark.parametrize(("body", "loc", "type_", "msg"), BAD_BODIES)
def test_rejected_bodies_answer_422_and_write_nothing(api: Api, body: Any, loc: list, type_: str, msg: str) -> None:
    r = api.post("/api/v1/responses", body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    match = [e for e in detail if e["loc"] == loc]
    assert match, detail
    assert match[0]["type"] == type_ and msg in match[0]["msg"], match[0]
    assert set(match[0]) == {"loc", "msg", "type"}
    assert api.count(Response) == 0  # all or nothing: the valid item of a batch is not written either


def test_all_errors_of_a_batch_are_reported(api_sqlite: Api) -> None:
    r = api_sqlite.post("/api/v1/responses", [response(1, touchpoint="x", answers={"nps": 12}),
                                              response(2), response(3, answers={"ces": 0})])
    locs = [e["loc"] for e in r.json()["detail"]]
    assert r.status_code == 422
    assert locs == [["body", 0, "touchpoint"], ["body", 0, "answers", "nps"], ["body", 2, "answers", "ces"]]


@pytest.mark.parametrize("raw", [b"{bad json", b'{"customer_id": "c1",}', b"", b"\xff\xfe{}", b"[1, 2"])
def test_malformed_json_is_422_not_500(api_sqlite: Api, raw: bytes) -> None:
    r = api_sqlite.post("/api/v1/responses", content=raw)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "body"


def test_size_limits(workspace: momenti.Workspace) -> None:
    for api in make_api(workspace, api_max_batch=3, api_max_body_bytes=2_000):
        too_many = api.post("/api/v1/responses", [response(i) for i in range(4)])
        assert too_many.status_code == 413 and "at most 3" in too_many.json()["detail"][0]["msg"]
        too_big = api.post("/api/v1/responses", response(1, answers={"comment": "x" * 3_000}))
        assert too_big.status_code == 413
        chunked = api.client.post("/api/v1/responses", headers=api.auth,
                                  content=iter([b'{"a": "', b"y" * 3_000, b'"}']))  # no Content-Length
        assert chunked.status_code == 413
        assert api.post("/api/v1/responses", [response(i) for i in range(3)]).status_code == 201


# --- idempotency ---------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_answer(api: Api) -> None:
    first = api.post("/api/v1/responses", [response(1), response(2)], key="k-1")
    assert first.status_code == 201 and "idempotent-replay" not in first.headers
    # Same JSON, other spacing and key order: still the same request.
    same = b'[ {"answers": {"comment": "gentili", "csat": 5, "nps": 9}, "customer_id": "c1", "touchpoint": ' \
           b'"branch-visit", "submitted_at": "2025-01-15T10:00:00Z", "channel": "branch", "language": "it", ' \
           b'"response_id": "r1"}, ' + json.dumps(response(2)).encode() + b"]"
    replay = api.post("/api/v1/responses", content=same, key="k-1")
    assert replay.status_code == 201 and replay.headers["idempotent-replay"] == "true"
    assert replay.json() == first.json()  # not "added 0, duplicates 2": the stored first answer
    assert api.count(Response) == 2 and api.count(IdempotencyKey) == 1
    other_body = api.post("/api/v1/responses", [response(3)], key="k-1")
    assert other_body.status_code == 409 and "k-1" in other_body.json()["detail"]
    other_endpoint = api.post("/api/v1/feedback", {"source": "x", "text": "y"}, key="k-1")
    assert other_endpoint.status_code == 409
    assert api.count(Response) == 2 and api.count(Feedback) == 0


def test_remember_keeps_the_first_answer_of_a_race(api_sqlite: Api) -> None:
    from momenti.server.idempotency import lookup, remember

    with api_sqlite.ws.session() as s:
        token_id = s.scalar(select(ApiToken.id))
    engine = api_sqlite.ws.engine
    first = remember(engine, token_id, "race", "POST /x", "h1", 201, {"added": 1})
    second = remember(engine, token_id, "race", "POST /x", "h1", 200, {"added": 0})  # lost the race
    assert first.body == second.body == {"added": 1} and second.status_code == 201
    assert lookup(engine, token_id, "race", "POST /x", "h1").body == {"added": 1}
    with pytest.raises(ConflictError):
        remember(engine, token_id, "race", "POST /x", "h2", 201, {"added": 1})
    assert lookup(engine, token_id, "other", "POST /x", "h1") is None


def test_idempotency_keys_are_per_token_and_rejections_are_not_stored(api: Api) -> None:
    bad = api.post("/api/v1/responses", response(1, touchpoint="nowhere"), key="k-2")
    assert bad.status_code == 422
    fixed = api.post("/api/v1/responses", response(1), key="k-2")  # a rejected body can be fixed and resent
    assert fixed.status_code == 201
    with api.ws.session() as s, s.begin():
        _, other = create_token(s, "second-client")
    theirs = api.client.post("/api/v1/responses", json=response(1),
                             headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "k-2"})
    assert theirs.status_code == 200 and "idempotent-replay" not in theirs.headers
    assert theirs.json()["duplicates"] == 1
    too_long = api.post("/api/v1/responses", response(2), key="k" * 201)
    assert too_long.status_code == 400
    assert api.count(Response) == 1


# --- debounced sync ------------------------------------------------------------------------------


def test_api_writes_reach_the_metrics(api: Api) -> None:
    rows = [response(i, answers={"nps": s}) for i, s in enumerate([10, 9, 9, 7, 3], start=1)]
    assert api.post("/api/v1/responses", rows).status_code == 201
    assert api.app.state.syncer.flush(timeout=30)
    df = api.ws.nps(by="touchpoint")
    assert df.loc[0, "n"] == 5 and df.loc[0, "nps"] == pytest.approx(40.0)
    assert api.ws.warehouse_counts()["responses"] == 5  # pushed once, never twice


def test_concurrent_writes_are_counted_once(api_sqlite: Api) -> None:
    """Writes from many threads while the background sync runs: the warehouse ends equal to the store."""
    errors: list[str] = []

    def writer(t: int) -> None:
        for j in range(4):
            try:  # a server error is raised here by the TestClient: record it, do not lose it with the thread
                r = api_sqlite.post("/api/v1/responses", [response(1000 * t + 10 * j + k) for k in range(5)])
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                continue
            if r.status_code != 201:
                errors.append(r.text)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    _ = [th.start() for th in threads] + [th.join() for th in threads]
    assert not errors
    assert api_sqlite.app.state.syncer.flush(timeout=30)
    assert api_sqlite.count(Response) == 80
    assert api_sqlite.ws.warehouse_counts()["responses"] == 80
    assert int(api_sqlite.ws.nps().loc[0, "n"]) == 80


def test_shutdown_flushes_pending_writes(workspace: momenti.Workspace) -> None:
    app = create_app(_settings(workspace, sync_debounce_s=30))  # the timer alone would not fire in time
    with app.state.workspace.session() as s, s.begin():
        _, secret = create_token(s, "t")
    with TestClient(app) as client:
        assert app.state.syncer.flush()  # the start-up catch-up sync
        runs = app.state.syncer.runs
        r = client.post("/api/v1/responses", json=response(9), headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 201 and app.state.syncer.pending
        time.sleep(0.2)
        assert app.state.syncer.runs == runs  # debounced: nothing ran yet
    assert not app.state.syncer.pending and app.state.syncer.runs == runs + 1
    with momenti.Workspace(app.state.workspace.settings, bulk=False) as ws:
        assert ws.warehouse_counts()["responses"] == 1


def test_write_timestamps_keep_their_zone(api_sqlite: Api) -> None:
    api_sqlite.post("/api/v1/responses", response(1, submitted_at="2025-01-31T23:30:00-02:00"))
    with api_sqlite.ws.session() as s:
        stored = s.scalar(select(Response.submitted_at).where(Response.external_id == "r1"))
    assert stored == dt.datetime(2025, 2, 1, 1, 30)  # stored in UTC


def test_token_cli(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from momenti.cli import tokens

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    created = runner.invoke(tokens.app, ["create", "crm-export"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("mom_") and len(secret) == 44
    listed = runner.invoke(tokens.app, ["list"])
    assert listed.exit_code == 0 and "crm-export" in listed.stdout and secret[:8] in listed.stdout
    assert secret not in listed.stdout  # never the secret again
    with momenti.open(tmp_path / "data") as ws, ws.session() as s, s.begin():
        assert verify_token(s, secret) is not None
    revoked = runner.invoke(tokens.app, ["revoke", "crm-export"])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    with momenti.open(tmp_path / "data") as ws, ws.session() as s, s.begin():
        assert verify_token(s, secret) is None
    missing = runner.invoke(tokens.app, ["revoke", "nobody"])
    assert missing.exit_code != 0 and isinstance(missing.exception, NotFoundError)
