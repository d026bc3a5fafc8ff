"""The `momenti audit` commands (verify, export verified outside, list) and the /admin/audit page, on SQLite
and PostgreSQL. The chain itself: test_audit_chain.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

import momenti
from audit_helpers import count_entries, entry_ids, record_actions, tamper, verify
from auth_helpers import add_user, sign_in
from momenti.cli.main import app as cli_app
from momenti.core.config import get_settings
from momenti.domains import audit
from momenti.server.app import create_app
from momenti.store.access import (
    AuditEntry,
)

# -- the commands --------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(ws_any: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> momenti.Workspace:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws_any.settings.data_dir))
    if ws_any.settings.database_url:
        monkeypatch.setenv("MOMENTI_DATABASE_URL", ws_any.settings.database_url)
    return ws_any


def test_cli_verify_exit_codes(cli_env: momenti.Workspace) -> None:
    record_actions(cli_env)
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output and f"{count_entries(cli_env)} entries checked" in ok.output
    mid = entry_ids(cli_env)[4]
    tamper(cli_env, ("UPDATE audit_log SET actor = actor || ' (edited)' WHERE id = :i", {"i": mid}))
    bad = runner.invoke(cli_app, ["audit", "verify"])
    assert bad.exit_code == 1 and f"entry {mid}" in bad.output and "NOT intact" in bad.output
    assert "Traceback" not in bad.output and bad.exception is None or isinstance(bad.exception, SystemExit)


def test_cli_verify_on_a_broken_store_prints_no_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = momenti.open(tmp_path / "data")
    with ws.session() as s, s.begin():
        audit.record(s, "system", "one")
    ws.close()
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'momenti.db'}")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_head"))
    engine.dispose()
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(tmp_path / "data"))
    r = CliRunner().invoke(cli_app, ["audit", "verify"])
    assert r.exit_code == 2 and "could not be verified" in r.output and "Traceback" not in r.output


def test_cli_export_can_be_verified_outside(cli_env: momenti.Workspace, tmp_path: Path) -> None:
    record_actions(cli_env)
    today = audit.utcnow().date().isoformat()
    runner = CliRunner()
    out = tmp_path / "audit.json"
    r = runner.invoke(cli_app, ["audit", "export", "--from", "2020-01-01", "--to", today, "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "momenti.audit/1" and "SHA-256" in doc["canonical"]
    entries = doc["entries"]
    assert len(entries) == count_entries(cli_env) - 1  # the export's own entry comes after it
    assert entries[0]["prev_hash"] == audit.ZERO and {"hash", "prev_hash"} <= set(entries[0])
    assert audit.check_records(entries).intact
    forged = [dict(e) for e in entries]
    forged[3]["target"] = "someone else"
    assert audit.check_records(forged).problem.id == entries[3]["id"]
    with cli_env.session() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert last.action == "audit.export" and last.detail["entries"] == len(entries)
    assert last.detail["last_hash"] == entries[-1]["hash"]

    csv_out = tmp_path / "audit.csv"
    r = runner.invoke(cli_app, ["audit", "export", "--from", "2020-01-01", "--to", today, "--format", "csv",
                                "--out", str(csv_out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text(encoding="utf-8"))))
    assert len(rows) == len(entries) + 1 and audit.check_records(rows).intact
    assert verify(cli_env).intact
    # a range in the future has nothing; a wrong day is a clear error
    r = runner.invoke(cli_app, ["audit", "export", "--from", "2099-01-01", "--to", "2099-01-02"])
    assert r.exit_code == 0 and json.loads(r.output)["entries"] == []
    r = runner.invoke(cli_app, ["audit", "export", "--from", "yesterday", "--to", today])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output


def test_cli_list(cli_env: momenti.Workspace) -> None:
    record_actions(cli_env)
    runner = CliRunner()
    r = runner.invoke(cli_app, ["audit", "list", "--action", "login", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    rows = doc["rows"] if isinstance(doc, dict) and "rows" in doc else doc
    actions = [row["action"] for row in rows]
    assert sorted(actions) == ["login", "login", "login.failed"]
    r = runner.invoke(cli_app, ["audit", "list", "--actor", "anna@", "--since", "1d", "--limit", "2"])
    assert r.exit_code == 0 and "2 of" in r.output
    r = runner.invoke(cli_app, ["audit", "list", "--since", "2099-01-01"])
    assert r.exit_code == 0 and "0 of 0" in r.output
    r = runner.invoke(cli_app, ["audit", "list", "--target", "anna@example.com", "--format", "json"])
    assert {row["action"] for row in json.loads(r.output)["rows"]} == {"user.create", "login", "login.failed"}


# -- the admin page ----------------------------------------------------------------------------------------


def test_admin_audit_page(tmp_path: Path) -> None:
    application = create_app(get_settings(data_dir=tmp_path / "data", login_rate_per_minute=100_000))
    ws = application.state.workspace
    add_user(ws, "admin@example.com", "admin")
    add_user(ws, "manager@example.com", "cx_manager")
    with TestClient(application):  # the app's lifespan once; each client below has its own cookies
        anon = TestClient(application, follow_redirects=False)
        r = anon.get("/admin/audit")
        assert r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")
        manager = TestClient(application, follow_redirects=False)
        assert sign_in(manager, "manager@example.com").status_code == 303
        assert manager.get("/admin/audit").status_code == 403
        c = TestClient(application, follow_redirects=False)
        assert sign_in(c, "admin@example.com").status_code == 303
        page = c.get("/admin/audit?lang=en")
        assert page.status_code == 200 and "Audit log" in page.text and "user.create" in page.text
        assert 'href="/admin/audit?lang=en"' in page.text  # in the navigation
        assert 'href="/admin/audit?lang=en"' not in manager.get("/cases?lang=en").text
        doc = c.get("/admin/audit?format=json&action=login").json()
        assert doc["total"] == 2 and {r["action"] for r in doc["rows"]} == {"login"}
        assert doc["rows"][0]["hash"] and doc["verify"] is None
        doc = c.get("/admin/audit?format=json&actor=manager&from=2020-01-01&to=2099-12-31").json()
        # the manager's sign-in and their refusal at /admin/audit (every refusal is recorded, server/auth.py)
        assert doc["total"] == 2 and all("manager" in r["actor"] for r in doc["rows"])
        assert {r["action"] for r in doc["rows"]} == {"login", "access.refused"}
        assert c.get("/admin/audit?format=json&from=2099-01-01").json()["total"] == 0
        assert c.get("/admin/audit?from=someday").status_code == 400
        checked = c.get("/admin/audit?lang=en&verify=1")
        assert checked.status_code == 200 and "Chain intact" in checked.text
        it = c.get("/admin/audit?lang=it&verify=1")
        assert "Catena integra" in it.text and "Registro di audit" in it.text
        mid = entry_ids(ws)[2]
        tamper(ws, ("UPDATE audit_log SET target = 'forged' WHERE id = :i", {"i": mid}))
        broken = c.get("/admin/audit?lang=en&verify=1")
        assert "Chain NOT intact" in broken.text and f"entry {mid}" in broken.text
        doc = c.get("/admin/audit?format=json&verify=1").json()
        assert doc["verify"]["intact"] is False and doc["verify"]["problem"]["id"] == mid
