"""Privacy: a customer's data exported whole, erased everywhere (delete or anonymise) and the erasure verified by
a search that also looks inside other people's free text, the warehouse and the data directory's files — on a
SQLite and a PostgreSQL store."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import momenti
from momenti.core.errors import NotFoundError
from momenti.domains.loop.cases import Actor, open_manual

ID, EMAIL, PHONE = "ERASE-ME-42", "giulia.bianchi.42@example.com", "+39 333 987 6542"


def _seed(ws: momenti.Workspace) -> None:
    ws.import_records("customers", [{"customer_id": ID, "first_seen": "2025-01-01", "email": EMAIL, "phone": PHONE,
                                     "segment": "mass"}])
    ws.import_records("responses", [
        {"response_id": "p-r1", "customer_id": ID, "touchpoint": "branch-visit", "submitted_at": "2026-09-01T10:00:00Z",
         "nps": 2, "comment": f"Richiamatemi al {PHONE} o scrivete a {EMAIL}"},
        {"response_id": "p-r2", "customer_id": ID, "touchpoint": "app-login", "submitted_at": "2026-09-02T10:00:00Z",
         "nps": 9, "csat": 5}])
    ws.import_records("feedback", [{"feedback_id": "p-f1", "source": "complaint", "customer_id": ID,
                                    "text": "Chiamatemi: 333-9876542", "created_at": "2026-09-04T10:00:00Z"}])
    ws.import_records("events", [{"event_id": "p-e1", "customer_id": ID, "timestamp": "2026-09-01T09:00:00Z",
                                  "activity": "chiamata", "channel": "phone", "case_id": "case-ERASE-ME-42"}])
    ws.import_records("outcomes", [{"customer_id": ID, "status": "churned", "start_date": "2025-01-01",
                                    "end_date": "2026-10-01"}])
    with ws.session() as s, s.begin():
        case = open_manual(s, Actor("cli"), ID, "Richiamare", team="Rete filiali", touchpoint="branch-visit")
        from momenti.domains.loop.cases import add_note

        add_note(s, case, Actor("cli"), f"cliente raggiungibile al {PHONE}")
    ws.add_customer_note(ID, f"preferisce e-mail: {EMAIL}")
    ws.log_offer(ID, "carta-gold", "declined")
    # another customer quotes them, not analysed yet: the raw text holds the e-mail
    ws.import_records("responses", [{"response_id": "p-r3", "customer_id": "C-OTHER", "touchpoint": "branch-visit",
                                     "submitted_at": "2026-09-03T10:00:00Z", "nps": 8,
                                     "comment": f"Mia moglie ({EMAIL}) si è trovata bene"}], sync=False)
    ws.sync()
    ws.story(ID)  # a read: audited under the pseudonym


def test_export_holds_everything_about_the_customer(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    _seed(ws_any)
    blob, counts = ws_any.privacy_export(ID, tmp_path / "out" / "c.zip")
    assert (tmp_path / "out" / "c.zip").read_bytes() == blob
    z = zipfile.ZipFile(io.BytesIO(blob))
    doc = json.loads(z.read("customer.json"))
    t = doc["tables"]
    assert {r["external_id"] for r in t["responses"]} == {"p-r1", "p-r2"}  # not the other customer's
    assert len(t["events"]) == len(t["feedback"]) == len(t["offers"]) == len(t["customer_notes"]) == 1
    assert len(t["cases"]) == 1 and any(e["kind"] == "note" for e in t["case_entries"])
    assert t["outcomes"][0]["status"] == "churned" and EMAIL in t["customers"][0]["attributes"]
    assert {"README.txt", "responses.csv", "answers.csv", "cases.csv"} <= set(z.namelist())
    assert counts["responses"] == 2
    with pytest.raises(NotFoundError):
        ws_any.privacy_export("NOBODY")


def test_erase_leaves_nothing_anywhere(ws_any: momenti.Workspace) -> None:
    ws = ws_any
    _seed(ws)
    rejects = Path(ws.settings.data_dir) / "rejects"
    rejects.mkdir(parents=True, exist_ok=True)
    (rejects / "old.rejects.csv").write_text(f"line,reason,customer_id\n3,bad nps,{ID}\n4,bad nps,C-X\n")
    before = ws.privacy_search(ID)
    assert before["found"] > 10
    n_before = int(ws.nps().iloc[0]["n"])
    report = ws.privacy_erase(ID)
    assert report["ok"], report
    assert report["left"]["found"] == 0 and report["left"]["searched"]["store tables"] > 30
    assert report["rows"]["responses"] == 2 and report["rows"]["cases"] == 1
    assert report["redacted"]["answers.value_text"] == 1  # the other customer's comment
    assert report["redacted"]["file rejects/old.rejects.csv"] == 1
    assert (rejects / "old.rejects.csv").read_text().splitlines() == ["line,reason,customer_id", "4,bad nps,C-X"]
    # the warehouse was rebuilt: aggregates count nothing of theirs, the rest is intact
    assert int(ws.nps().iloc[0]["n"]) == n_before - 2
    other = ws.story("C-OTHER")
    comment = next(r for r in other["rows"] if r["kind"] == "response")["answers"]["comment"]
    assert EMAIL not in comment and "si è trovata bene" in comment
    assert ws.privacy_search(ID)["found"] == 0
    # the audit log names the customer by pseudonym only
    from sqlalchemy import select

    from momenti.store.access import AuditEntry

    with ws.session() as s:
        entries = list(s.execute(select(AuditEntry.action, AuditEntry.target)))
    assert ("privacy.erase", ws.customer_ref(ID)) in entries
    assert not any(ID in (t or "") for _, t in entries)


def test_anonymise_keeps_the_scores_and_drops_the_person(workspace: momenti.Workspace) -> None:
    ws = workspace
    _seed(ws)
    n_before = int(ws.nps().iloc[0]["n"])
    report = ws.privacy_erase(ID, mode="anonymise")
    assert report["ok"], report["left"]
    assert int(ws.nps().iloc[0]["n"]) == n_before  # the scores still count
    from sqlalchemy import text

    with ws.session() as s:
        kept = s.execute(text("SELECT customer_key FROM responses WHERE external_id IN ('p-r1', 'p-r2')")).all()
        texts = s.execute(text("SELECT count(*) FROM answers a JOIN responses r ON r.id = a.response_id "
                               "WHERE r.external_id IN ('p-r1', 'p-r2') AND a.value_text IS NOT NULL")).scalar()
        feedback = s.execute(text("SELECT count(*) FROM feedback WHERE external_id = 'p-f1'")).scalar()
        notes = s.execute(text("SELECT count(*) FROM customer_notes")).scalar()
    assert len({k for (k,) in kept}) == 1 and kept[0][0].startswith("anon-")
    assert texts == 0 and feedback == 0 and notes == 0


def test_the_commands(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from momenti.cli.main import app

    _seed(workspace)
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    runner = CliRunner()
    out = runner.invoke(app, ["privacy", "export", ID, "--out", str(tmp_path / "x.zip")])
    assert out.exit_code == 0 and "responses 2" in out.stdout and (tmp_path / "x.zip").stat().st_size > 1000
    assert runner.invoke(app, ["privacy", "search", ID]).exit_code == 1
    erased = runner.invoke(app, ["privacy", "erase", ID])
    assert erased.exit_code == 0, erased.output
    assert "0 left" in erased.stdout and "store tables" in erased.stdout
    assert runner.invoke(app, ["privacy", "search", ID, "--email", EMAIL]).exit_code == 0


def test_privacy_over_the_api_and_the_admin_page(workspace: momenti.Workspace) -> None:
    from fastapi.testclient import TestClient

    from api_helpers import make_api
    from auth_helpers import add_user, csrf_of, make_token, sign_in

    gen = make_api(workspace)
    api = next(gen)
    try:
        _seed(api.ws)
        url = f"/api/v1/privacy/customers/{ID}"
        read = {"Authorization": f"Bearer {make_token(api.ws, 'read')}"}
        assert api.client.get(f"{url}/export", headers=read).status_code == 403
        assert api.client.post(f"{url}/erase", json={}, headers=read).status_code == 403
        z = api.client.get(f"{url}/export")  # the admin token
        assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
        assert "customer.json" in zipfile.ZipFile(io.BytesIO(z.content)).namelist()
        assert api.client.get(f"{url}/search").json()["found"] > 0
        assert api.client.post(f"{url}/erase", json={"mode": "forget"}).status_code == 422
        add_user(api.ws, "cx@bank.example", "cx_manager")
        add_user(api.ws, "root@bank.example", "admin")
        cx = TestClient(api.app)
        assert sign_in(cx, "cx@bank.example").status_code == 303
        assert cx.get(f"/admin/privacy?customer={ID}").status_code == 403
        admin = TestClient(api.app)
        assert sign_in(admin, "root@bank.example").status_code == 303
        page = admin.get(f"/admin/privacy?customer={ID}&lang=it")
        assert page.status_code == 200 and "Dove compare il cliente" in page.text
        origin = {"Origin": "http://testserver"}
        wrong = admin.post("/admin/privacy", data={"csrf_token": csrf_of(page.text), "customer": ID,
                                                   "action": "erase", "confirm": "someone else"}, headers=origin)
        assert wrong.status_code == 400 and api.ws.privacy_search(ID)["found"] > 0
        done = admin.post("/admin/privacy?lang=en", data={"csrf_token": csrf_of(page.text), "customer": ID,
                                                          "action": "erase", "confirm": ID}, headers=origin)
        assert done.status_code == 200 and "Verified: nothing left." in done.text
        assert api.client.get(f"{url}/search").json()["found"] == 0
        assert api.client.get(f"{url}/export").status_code == 404
    finally:
        next(gen, None)


def test_retention_purges_raw_data_and_keeps_the_aggregates(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from conftest import BANK
    from momenti.domains.privacy import retention

    ws = momenti.open(tmp_path / "data", retention_comment_text_days=30, retention_events_days=90,
                      retention_cases_days=30, retention_audit_days=0)
    ws.apply_journey(BANK)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    old, recent = (now - dt.timedelta(days=120)).isoformat(), (now - dt.timedelta(days=2)).isoformat()
    ws.import_records("responses", [
        {"response_id": "o1", "customer_id": "C1", "touchpoint": "branch-visit", "submitted_at": old, "nps": 3,
         "comment": "la filiale di via Roma era chiusa"},
        {"response_id": "n1", "customer_id": "C2", "touchpoint": "branch-visit", "submitted_at": recent, "nps": 9,
         "comment": "tutto bene"}])
    ws.import_records("events", [{"event_id": "e-old", "customer_id": "C1", "timestamp": old, "activity": "chiamata"},
                                 {"event_id": "e-new", "customer_id": "C2", "timestamp": recent,
                                  "activity": "chiamata"}])
    topics_before = ws.nps(by="touchpoint").to_dict("records")
    preview = {r["kind"]: r["rows"] for r in retention.plan(ws)}
    assert preview == {"comment_text": 1, "events": 1, "feedback": 0, "cases": 0, "invitations": 0, "audit": 0}
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws.settings.data_dir))
    monkeypatch.setenv("MOMENTI_RETENTION_COMMENT_TEXT_DAYS", "30")
    monkeypatch.setenv("MOMENTI_RETENTION_EVENTS_DAYS", "90")
    from momenti.cli.main import app

    dry = CliRunner().invoke(app, ["privacy", "retention", "--dry-run"])
    assert dry.exit_code == 0 and "comment_text" in dry.stdout and "1 rows would go" in dry.stdout
    retention.apply(ws)
    assert ws.nps(by="touchpoint").to_dict("records") == topics_before  # the scores still count
    from sqlalchemy import text

    with ws.session() as s:
        texts = dict(s.execute(text("SELECT r.external_id, a.value_text FROM answers a JOIN responses r "
                                    "ON r.id = a.response_id WHERE a.value_text IS NOT NULL")).all())
        events = [e for (e,) in s.execute(text("SELECT external_id FROM events"))]
        purges = [d for (d,) in s.execute(text("SELECT target FROM audit_log WHERE action = 'retention.purge'"))]
    assert texts == {"n1": "tutto bene"} and events == ["e-new"]
    assert sorted(purges) == ["comment_text", "events"]
    assert ws.warehouse_counts()["events"] == 1  # the replica holds nothing the store no longer has
    assert all(r["rows"] == 0 for r in retention.plan(ws))  # nothing more is due


def test_a_short_id_is_erased_by_its_keys_and_numbers_are_never_redacted(workspace: momenti.Workspace) -> None:
    ws = workspace
    ws.import_records("responses", [
        {"response_id": "s1", "customer_id": "0", "touchpoint": "branch-visit", "submitted_at": "2026-09-01T10:00:00Z",
         "nps": 0, "comment": "0 stelle"},
        {"response_id": "s2", "customer_id": "C-10", "touchpoint": "branch-visit",
         "submitted_at": "2026-09-02T10:00:00Z", "nps": 10, "comment": "voto 0 al ritardo, 10 al resto"}])
    with ws.session() as s, s.begin():
        open_manual(s, Actor("cli"), "C-10", "Richiamare 0 volte", team="Rete filiali", touchpoint="branch-visit")
    report = ws.privacy_erase("0", phones=["", " "])  # empty phones are no phone
    assert report["ok"] and report["rows"]["responses"] == 1 and not report["redacted"]
    assert "voto 0 al ritardo" in json.dumps(ws.story("C-10"))
