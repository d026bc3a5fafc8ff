"""The customer's story: a timeline holding every kind once, in order, masked where it must be (SQLite and
PostgreSQL); the offer rule (the fourth proposal of a declined offer warns, a CRM's check refuses it); who may
read a timeline (analysts and viewers never, agents only their team's customers, notes masked to a system).
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import momenti
from api_helpers import make_api
from auth_helpers import add_user, make_token, sign_in
from momenti.domains.loop.cases import Actor, open_manual
from momenti.store.models import ContactSkip, Invitation

CUST = "C-STORY-1"
T0 = dt.datetime(2026, 9, 1, 9, 0)


def _at(hours: float) -> str:
    return (T0 + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _story_customer(ws: momenti.Workspace) -> None:
    """One of each kind, an hour apart, in this order (oldest first): response, event, feedback, invitation,
    case, note, offer, outcome."""
    ws.import_records("customers", [{"customer_id": CUST, "first_seen": _at(-100), "lifecycle": "repeat"}])
    ws.import_records("responses", [{"response_id": "st-r1", "customer_id": CUST, "touchpoint": "branch-visit",
                                     "submitted_at": _at(0), "channel": "branch", "language": "it", "nps": 3,
                                     "comment": "scrivetemi a mario.rossi@example.com o al 347 123 4567"}])
    ws.import_records("events", [{"event_id": "st-e1", "customer_id": CUST, "timestamp": _at(1),
                                  "activity": "chiamata contact center", "channel": "phone", "reason": "carta",
                                  "agent": "A7", "outcome": "risolto", "duration_s": 300,
                                  "touchpoint": "contact-centre-call"}])
    ws.import_records("feedback", [{"feedback_id": "st-f1", "source": "review", "customer_id": CUST,
                                    "text": "Pessimo servizio, chiamatemi al 347 123 4567", "created_at": _at(2)}])
    with ws.session() as s, s.begin():
        s.add(Invitation(survey_key="nps-relazionale", customer_key=CUST, email="mario.rossi@example.com",
                         language="it", channel="email", status="sent", created_at=T0 + dt.timedelta(hours=3),
                         planned_at=T0 + dt.timedelta(hours=3), sent_at=T0 + dt.timedelta(hours=3)))
        s.add(ContactSkip(survey_key="nps-relazionale", customer_key=CUST, reason="fatigue",
                          at=T0 + dt.timedelta(hours=3, minutes=30)))
        case = open_manual(s, Actor("cli"), CUST, "Richiamare il cliente", team="Contact center",
                           touchpoint="contact-centre-call")
        case.opened_at = T0 + dt.timedelta(hours=4)
    ws.add_customer_note(CUST, "Ha già rifiutato la carta gold. Numero privato 347 123 4567")
    ws.log_offer(CUST, "carta-gold", "declined", "phone")
    ws.import_records("outcomes", [{"customer_id": CUST, "status": "churned", "start_date": _at(-100),
                                    "end_date": _at(8)}])


def test_the_timeline_holds_every_kind_in_order_masked(ws_any: momenti.Workspace) -> None:
    ws = ws_any
    _story_customer(ws)
    doc = ws.story(CUST)
    kinds = [r["kind"] for r in doc["rows"]]
    assert set(kinds) == {"response", "event", "feedback", "invitation", "case", "note", "offer", "outcome"}
    ts = [r["ts"] for r in doc["rows"]]
    assert ts == sorted(ts, reverse=True), "newest first"
    # the note and the offer were written now (after T0 + 8 h); the rest in the order they were dated
    dated = [k for k in kinds if k not in ("note", "offer")]
    assert dated == ["outcome", "case", "invitation", "invitation", "feedback", "event", "response"]
    assert kinds[:2] in (["note", "offer"], ["offer", "note"])
    response = next(r for r in doc["rows"] if r["kind"] == "response")
    assert response["scores"] == {"nps": 3}
    assert "mario.rossi@example.com" not in json.dumps(doc) and "347 123 4567" not in response["answers"]["comment"]
    feedback = next(r for r in doc["rows"] if r["kind"] == "feedback")
    assert "347" not in feedback["text"] and "Pessimo servizio" in feedback["text"]
    event = next(r for r in doc["rows"] if r["kind"] == "event")
    assert (event["activity"], event["channel"], event["reason"], event["agent"], event["outcome"],
            event["duration_s"]) == ("chiamata contact center", "phone", "carta", "A7", "risolto", 300)
    skip = next(r for r in doc["rows"] if r["kind"] == "invitation" and r["status"] == "skipped")
    assert skip["reason"] == "fatigue"
    note = next(r for r in doc["rows"] if r["kind"] == "note")
    assert "347 123 4567" in note["text"]  # in full to staff (the CLI); masked to others (below)
    s = doc["summary"]
    assert s["last_scores"]["nps"]["value"] == 3 and s["last_scores"]["nps"]["touchpoint"] == "branch-visit"
    assert [c["title"] for c in s["open_cases"]] == ["Richiamare il cliente"]
    assert s["lifecycle"] == "repeat" and s["language"] == "it" and s["preferred_channel"] == "phone"
    assert s["offers"][0]["offer"] == "carta-gold" and s["offers"][0]["declined"] == 1
    # filters and pages
    only = ws.story(CUST, kinds=["event", "offer"])
    assert [r["kind"] for r in only["rows"]] == ["offer", "event"] and only["total"] == 2
    page = ws.story(CUST, limit=3, offset=3)
    assert [r["ts"] for r in page["rows"]] == ts[3:6] and page["total"] == len(ts)
    window = ws.story(CUST, start="2026-09-01", end="2026-09-01")
    assert {r["kind"] for r in window["rows"]} == {"response", "event", "feedback", "invitation", "case", "outcome"}
    frame = ws.timeline(CUST)
    assert list(frame["kind"])[:2] == kinds[:2] and len(frame) == len(kinds)


def test_the_fourth_proposal_of_a_declined_offer_warns(workspace: momenti.Workspace) -> None:
    ws = workspace
    warnings = [ws.log_offer("C-OF", "Carta Gold", "declined")["warning"] for _ in range(3)]
    assert warnings == [None, None, None]
    fourth = ws.log_offer("C-OF", "carta gold", "declined")
    assert fourth["warning"] and "declined 3 times" in fourth["warning"]
    assert ws.offer_check("C-OF", "carta-gold")["allowed"] is True  # another name
    check = ws.offer_check("C-OF", "Carta  Gold")
    assert check["allowed"] is False and check["declined"] == 4
    assert ws.offer_check("C-OF", "mutuo casa") == {**ws.offer_check("C-OF", "mutuo casa"), "allowed": True}
    ws.log_offer("C-OF", "conto plus", "accepted")
    assert ws.offer_check("C-OF", "conto plus")["allowed"] is False  # they have it
    doc = ws.story("C-OF")
    assert doc["summary"]["do_not_propose"] == ["carta gold", "conto plus"] or \
        sorted(doc["summary"]["do_not_propose"]) == ["Carta Gold", "conto plus"]


def test_old_declines_fall_out_of_the_window(tmp_path) -> None:  # noqa: ANN001
    ws = momenti.open(tmp_path / "data", offer_lookback_days=30)
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [{"offer_id": f"w{i}", "customer_id": "C-W", "offer": "prestito", "proposed_at": old if i < 3 else recent,
             "outcome": "declined"} for i in range(4)]
    s = ws.import_records("offers", rows)
    assert (s.added, s.rejected) == (4, 0)
    assert ws.offer_check("C-W", "prestito")["allowed"] is True  # 1 decline in the last 30 days
    # an offer id imported again with a new outcome updates it; the same file twice adds nothing
    again = ws.import_records("offers", [{**rows[3], "outcome": "accepted"}])
    assert (again.added, again.updated) == (0, 1)
    assert ws.offer_check("C-W", "prestito")["allowed"] is False
    bad = ws.import_records("offers", [{"offer_id": "x", "customer_id": "C-W", "offer": "p", "proposed_at": recent,
                                        "outcome": "maybe"}])
    assert bad.rejected == 1 and "outcome" in bad.errors[0]


def test_who_reads_a_timeline(workspace: momenti.Workspace) -> None:
    gen = make_api(workspace)
    api = next(gen)
    try:
        _story_customer(api.ws)
        with api.app.state.syncer.lock:
            api.ws.sync_written()
        for role, team in (("analyst", None), ("viewer", None), ("agent", "Contact center"),
                           ("agent", "Digital banking"), ("team_lead", "Contact center"), ("cx_manager", None)):
            add_user(api.ws, f"{role}.{(team or 'x').split()[0].lower()}@bank.example", role, team=team)
        url = f"/api/v1/customers/{quote(CUST)}/timeline"

        def as_user(email: str) -> TestClient:
            c = TestClient(api.app)
            assert sign_in(c, email).status_code == 303
            return c

        assert TestClient(api.app).get(url).status_code == 401
        for email in ("analyst.x@bank.example", "viewer.x@bank.example", "agent.digital@bank.example"):
            assert as_user(email).get(url).status_code == 403, email
            assert as_user(email).get(f"/customers/{quote(CUST)}").status_code == 403, email
        agent = as_user("agent.contact@bank.example")
        mine = agent.get(url)
        assert mine.status_code == 200
        note = next(r for r in mine.json()["rows"] if r["kind"] == "note")
        assert "347 123 4567" in note["text"]  # staff who speak to the customer read their notes
        page = agent.get(f"/customers/{quote(CUST)}?lang=en")
        assert page.status_code == 200 and "Before you talk" in page.text and "carta-gold" in page.text
        assert as_user("team_lead.contact@bank.example").get(url).status_code == 200
        assert as_user("cx_manager.x@bank.example").get(url).status_code == 200
        # a system with a read token: every customer, notes masked
        read = {"Authorization": f"Bearer {make_token(api.ws, 'read')}"}
        by_token = api.client.get(url, headers=read)
        assert by_token.status_code == 200
        assert "347 123 4567" not in json.dumps(by_token.json())
        check = api.client.get(f"/api/v1/customers/{quote(CUST)}/offers/check?offer=carta-gold", headers=read)
        assert check.status_code == 200 and check.json()["allowed"] is True and check.json()["declined"] == 1
        ingest = {"Authorization": f"Bearer {make_token(api.ws, 'ingest')}"}
        assert api.client.get(url, headers=ingest).status_code == 403
        # every read and every refusal is in the audit log
        from sqlalchemy import select

        from momenti.store.access import AuditEntry

        ref = api.ws.customer_ref(CUST)  # the log holds the customer's pseudonym, never the id
        assert ref.startswith("customer#") and CUST not in ref
        with api.ws.session() as s:
            acts = [a for a, t in s.execute(select(AuditEntry.action, AuditEntry.target)) if t == ref]
        assert acts.count("timeline.refused") == 2 and acts.count("timeline.read") >= 5  # the other team's agent
    finally:
        next(gen, None)


def test_offers_through_the_api_and_from_the_page(workspace: momenti.Workspace) -> None:
    gen = make_api(workspace)
    api = next(gen)
    try:
        ingest = {"Authorization": f"Bearer {make_token(api.ws, 'ingest')}"}
        now = dt.datetime.now(dt.UTC)
        body = [{"offer_id": f"api-{i}", "customer_id": "C-API", "offer": "carta-gold", "outcome": "declined",
                 "proposed_at": (now - dt.timedelta(days=i + 1)).isoformat(), "channel": "Phone"} for i in range(3)]
        r = api.client.post("/api/v1/offers", json=body, headers=ingest)
        assert r.status_code == 201 and r.json()["added"] == 3, r.text
        assert api.client.post("/api/v1/offers", json=body, headers=ingest).json()["added"] == 0
        bad = api.client.post("/api/v1/offers", json={**body[0], "offer_id": "x", "outcome": "forse"}, headers=ingest)
        assert bad.status_code == 422 and "outcome" in bad.text
        read = {"Authorization": f"Bearer {make_token(api.ws, 'read')}"}
        assert api.client.post("/api/v1/offers", json=body, headers=read).status_code == 403
        check = api.client.get("/api/v1/customers/C-API/offers/check?offer=carta-gold", headers=read).json()
        assert check["allowed"] is False and "do not propose again" in check["reason"]
        # an agent logs a fourth proposal from the page: recorded, and warned
        api.ws.import_records("events", [{"event_id": "api-e", "customer_id": "C-API", "timestamp": now.isoformat(),
                                          "activity": "chiamata", "touchpoint": "contact-centre-call"}])
        with api.app.state.syncer.lock:
            api.ws.sync_written()
        add_user(api.ws, "agente@bank.example", "agent", team="Contact center")
        agent = TestClient(api.app)
        assert sign_in(agent, "agente@bank.example").status_code == 303
        page = agent.get("/customers/C-API?lang=it")
        assert "Non proporre" in page.text
        from auth_helpers import csrf_of

        origin = {"Origin": "http://testserver"}
        assert agent.post("/customers/C-API", data={"action": "note", "text": "x"},
                          headers=origin).status_code == 403  # no CSRF token
        r = agent.post("/customers/C-API?lang=en", data={"csrf_token": csrf_of(page.text), "action": "offer",
                                                         "offer": "carta-gold", "outcome": "declined"}, headers=origin)
        assert r.status_code == 200 and "the offer rule says" in r.text and "declined 3 times" in r.text
        assert api.ws.offer_check("C-API", "carta-gold")["declined"] == 4
        r = agent.post("/customers/C-API?lang=en", data={"csrf_token": csrf_of(page.text), "action": "note",
                                                         "text": "Preferisce essere chiamato la sera"},
                       headers=origin, follow_redirects=False)
        assert r.status_code == 303
        assert "Preferisce essere chiamato la sera" in agent.get("/customers/C-API?lang=en").text
    finally:
        next(gen, None)


def test_customer_show_and_find_on_the_command_line(workspace: momenti.Workspace,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    _story_customer(workspace)
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    runner = CliRunner()
    out = runner.invoke(app, ["customer", "show", CUST, "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert {"summary", "rows"} <= set(doc) and doc["rows"][0]["kind"] in ("note", "offer")
    table = runner.invoke(app, ["customer", "show", CUST])
    assert table.exit_code == 0 and "carta-gold" in table.stdout and "open case" in table.stdout
    found = runner.invoke(app, ["customer", "find", "C-STORY", "--format", "json"])
    assert found.exit_code == 0 and json.loads(found.stdout)["rows"][0]["customer_id"] == CUST
    assert runner.invoke(app, ["customer", "offer-check", CUST, "mutuo"]).exit_code == 0
    bad = runner.invoke(app, ["customer", "show", CUST, "--kind", "phonecall"])
    assert bad.exit_code != 0 and "phonecall" in str(bad.exception)  # main() prints it as "error: ..."
