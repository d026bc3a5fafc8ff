"""The audit log as a hash chain (domains/audit.py): intact after real actions, and every kind of tampering an
attacker with the database could do (edit, delete a middle or the last entry, re-order, cut) named by verify;
the append-only guards; concurrent appends; rollbacks; the retention purge; the migration over old rows; the
`momenti audit` commands and the /admin/audit page. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

import momenti
from auth_helpers import add_user, sign_in
from momenti.cli.main import app as cli_app
from momenti.core.config import get_settings
from momenti.domains import audit
from momenti.domains.access.sessions import sign_in as domain_sign_in
from momenti.domains.tokens import create_token, revoke_token
from momenti.server.app import create_app
from momenti.store.access import (
    AUDIT_GUARD_POSTGRES,
    AUDIT_GUARD_POSTGRES_FUNCTION,
    AUDIT_GUARD_SQLITE,
    AuditEntry,
    AuditHead,
)

PASSWORD = "Tramonto-Verde-Pino-2026"


# -- helpers ------------------------------------------------------------------------------------------------


def _actions(ws: momenti.Workspace) -> None:
    """A few auditable things, as the application does them: tokens, users, sign-ins (good and bad)."""
    with ws.session() as s, s.begin():
        row, _ = create_token(s, "crm-export", "read")
        audit.record(s, audit.cli_actor(), "token.create", row.name, {"scopes": row.scopes})
    add_user(ws, "anna@example.com", "analyst")
    add_user(ws, "bruno@example.com", "cx_manager")
    for password in (PASSWORD, "wrong-password-123", PASSWORD):
        with ws.session() as s, s.begin():
            domain_sign_in(s, ws.settings, "anna@example.com", password, ip="10.1.2.3")
    with ws.session() as s, s.begin():
        revoked = revoke_token(s, "crm-export")
        audit.record(s, audit.cli_actor(), "token.revoke", revoked.name, {"note": "città, ünïcode", "n": [1, 2.5]})


def _verify(ws: momenti.Workspace) -> audit.VerifyReport:
    with ws.session() as s:
        return audit.verify(s)


def _ids(ws: momenti.Workspace) -> list[int]:
    with ws.session() as s:
        return list(s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def _count(ws: momenti.Workspace) -> int:
    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)))


def _dialect(ws: momenti.Workspace) -> str:
    return ws.engine.dialect.name


@contextmanager
def _unguarded(ws: momenti.Workspace) -> Iterator[None]:
    """As an attacker with the database would: drop the append-only triggers. Put back afterwards (the
    PostgreSQL test database is shared by the whole session)."""
    pg = _dialect(ws) == "postgresql"
    with ws.engine.begin() as conn:
        for name in AUDIT_GUARD_SQLITE:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}" + (" ON audit_log" if pg else "")))
    try:
        yield
    finally:
        with ws.engine.begin() as conn:
            if pg:
                conn.execute(text(AUDIT_GUARD_POSTGRES_FUNCTION))
            for name, ddl in (AUDIT_GUARD_POSTGRES if pg else AUDIT_GUARD_SQLITE).items():
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}" + (" ON audit_log" if pg else "")))
                conn.execute(text(ddl))


def _tamper(ws: momenti.Workspace, *sql: tuple[str, dict[str, Any]]) -> None:
    with _unguarded(ws), ws.engine.begin() as conn:
        for stmt, params in sql:
            conn.execute(text(stmt), params)


# -- the chain ---------------------------------------------------------------------------------------------


def test_real_actions_make_an_intact_chain(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    report = _verify(ws_any)
    assert report.intact, report.summary()
    assert report.entries == _count(ws_any) >= 7
    with ws_any.session() as s:
        head = s.get(AuditHead, 1)
        rows = s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert head.entries == len(rows) and head.last_id == rows[-1].id and head.last_hash == rows[-1].hash
    assert rows[0].prev_hash == audit.ZERO
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    # what is hashed is what the database gives back: microseconds kept, the detail's canonical text
    assert any(r.at.microsecond for r in rows)
    last = rows[-1]
    assert last.detail == {"note": "città, ünïcode", "n": [1, 2.5]}
    assert audit.entry_hash(last.prev_hash, last.at, last.actor, last.action, last.target, last.detail, last.ip,
                            last.note) == last.hash
    assert {"token.create", "user.create", "login", "login.failed", "token.revoke"} <= {r.action for r in rows}


def test_an_edited_middle_entry_is_named(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    ids = _ids(ws_any)
    mid = ids[len(ids) // 2]
    with ws_any.session() as s:
        action = s.get(AuditEntry, mid).action
    _tamper(ws_any, ("UPDATE audit_log SET target = target || ' (edited)' WHERE id = :i", {"i": mid}))
    report = _verify(ws_any)
    assert not report.intact
    assert report.problem.id == mid and report.problem.action == action
    assert "edited" in report.problem.what and report.problem.at is not None
    assert f"entry {mid}" in report.summary()


def test_an_edited_detail_or_time_is_named(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    ids = _ids(ws_any)
    _tamper(ws_any, ("UPDATE audit_log SET at = :t WHERE id = :i", {"t": dt.datetime(2020, 1, 1), "i": ids[2]}))
    assert _verify(ws_any).problem.id == ids[2]


def test_a_deleted_middle_entry_is_detected(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    ids = _ids(ws_any)
    mid = ids[len(ids) // 2]
    _tamper(ws_any, ("DELETE FROM audit_log WHERE id = :i", {"i": mid}))
    report = _verify(ws_any)
    assert not report.intact
    after = ids[ids.index(mid) + 1]
    assert report.problem.id == after and "deleted" in report.problem.what
    assert str(ids[ids.index(mid) - 1]) in report.problem.what  # the entry it no longer follows


def test_a_deleted_last_entry_is_detected(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    ids = _ids(ws_any)
    _tamper(ws_any, ("DELETE FROM audit_log WHERE id = :i", {"i": ids[-1]}))
    report = _verify(ws_any)
    assert not report.intact and report.problem.id == ids[-1]
    assert "deleted" in report.problem.what


def test_a_cut_log_and_a_reordered_entry_are_detected(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    ids = _ids(ws_any)
    _tamper(ws_any, ("DELETE FROM audit_log WHERE id >= :i", {"i": ids[-3]}))
    assert "deleted" in _verify(ws_any).problem.what
    _tamper(ws_any, ("DELETE FROM audit_log", {}))
    report = _verify(ws_any)
    assert not report.intact and report.entries == 0


def test_a_reordered_entry_is_detected(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    a, b = _ids(ws_any)[2:4]
    _tamper(ws_any, ("UPDATE audit_log SET id = -1 WHERE id = :a", {"a": a}),
            ("UPDATE audit_log SET id = :a WHERE id = :b", {"a": a, "b": b}),
            ("UPDATE audit_log SET id = :b WHERE id = -1", {"b": b}))
    report = _verify(ws_any)
    assert not report.intact and report.problem.id == a


def test_a_cut_beginning_with_a_forged_head_is_detected(ws_any: momenti.Workspace) -> None:
    """Deleting the oldest entries and fixing the head's count and base is caught: no audit.purge says so."""
    _actions(ws_any)
    ids = _ids(ws_any)
    with ws_any.session() as s:
        base = s.get(AuditEntry, ids[3]).prev_hash
    _tamper(ws_any, ("DELETE FROM audit_log WHERE id < :i", {"i": ids[3]}),
            ("UPDATE audit_head SET entries = entries - 3, base_hash = :b", {"b": base}))
    report = _verify(ws_any)
    assert not report.intact and "purge" in report.problem.what


def test_update_and_delete_are_refused_by_the_database(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    mid = _ids(ws_any)[3]
    for stmt in ("UPDATE audit_log SET target = 'x' WHERE id = :i", "DELETE FROM audit_log WHERE id = :i"):
        with pytest.raises(DBAPIError, match="append-only"), ws_any.engine.begin() as conn:
            conn.execute(text(stmt), {"i": mid})
    assert _verify(ws_any).intact


def test_concurrent_appends_from_eight_threads(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    before, per_thread, errors = _count(ws_any), 15, []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(per_thread):
                with ws_any.session() as s, s.begin():
                    audit.record(s, f"system:thread{n}", "test.concurrent", f"{n}/{i}", {"i": i})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    report = _verify(ws_any)
    assert report.intact, report.summary()
    assert report.entries == before + 8 * per_thread == _count(ws_any)
    with ws_any.session() as s:
        targets = set(s.scalars(select(AuditEntry.target).where(AuditEntry.action == "test.concurrent")))
    assert targets == {f"{n}/{i}" for n in range(8) for i in range(per_thread)}


def test_verify_while_others_append_sees_no_damage(ws_any: momenti.Workspace) -> None:
    """Head and entries are read in one snapshot: appends during a verify are not reported as a cut log."""
    _actions(ws_any)
    stop, errors = threading.Event(), []

    def writer(n: int) -> None:
        try:
            while not stop.is_set():
                with ws_any.session() as s, s.begin():
                    audit.record(s, f"system:w{n}", "test.during.verify")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    try:
        reports = [_verify(ws_any) for _ in range(15)]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == [] and all(r.intact for r in reports), [r.summary() for r in reports if not r.intact]
    assert _verify(ws_any).entries == _count(ws_any) > reports[0].entries


def test_a_rolled_back_action_leaves_no_entry_and_an_intact_chain(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    before = _count(ws_any)
    with pytest.raises(RuntimeError), ws_any.session() as s, s.begin():
        create_token(s, "never", "read")
        audit.record(s, "system", "token.create", "never")
        raise RuntimeError("the action failed")
    assert _count(ws_any) == before and _verify(ws_any).intact
    with ws_any.session() as s, s.begin():
        audit.record(s, "system", "after.rollback")
    report = _verify(ws_any)
    assert report.intact and report.entries == before + 1


def test_a_truncated_head_starts_a_new_chain_that_verify_flags(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    with ws_any.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    assert "head" in _verify(ws_any).problem.what
    with ws_any.session() as s, s.begin():
        audit.record(s, "system", "after.head.lost")
    assert not _verify(ws_any).intact


# -- retention ---------------------------------------------------------------------------------------------


def test_purge_before_keeps_the_chain_verifiable(ws_any: momenti.Workspace, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    real = audit.utcnow
    monkeypatch.setattr(audit, "utcnow", lambda: real() - dt.timedelta(days=400))
    for i in range(5):
        with ws_any.session() as s, s.begin():
            audit.record(s, "system", "old.entry", str(i))
    monkeypatch.setattr(audit, "utcnow", real)
    _actions(ws_any)
    kept = _count(ws_any) - 5
    day = (real() - dt.timedelta(days=30)).date()
    with ws_any.session() as s, s.begin():
        result = audit.purge_before(s, day, actor="system:retention")
    assert result["deleted"] == 5
    report = _verify(ws_any)
    assert report.intact, report.summary()
    assert report.entries == kept + 1 and report.base_hash == result["base_hash"] != audit.ZERO
    with ws_any.session() as s:
        purge = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit.purge")).one()
        assert purge.detail["deleted"] == 5 and purge.actor == "system:retention"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "old.entry")) == 0
    # the guard is back
    with pytest.raises(DBAPIError, match="append-only"), ws_any.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": _ids(ws_any)[0]})
    # and the purged chain still catches tampering
    _tamper(ws_any, ("DELETE FROM audit_log WHERE id = :i", {"i": _ids(ws_any)[0]}))
    assert not _verify(ws_any).intact


def test_a_purge_that_rolls_back_changes_nothing(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    before = _count(ws_any)
    with pytest.raises(RuntimeError), ws_any.session() as s, s.begin():
        audit.purge_before(s, (audit.utcnow() + dt.timedelta(days=1)).date())
        raise RuntimeError("changed my mind")
    assert _count(ws_any) == before and _verify(ws_any).intact
    with pytest.raises(DBAPIError, match="append-only"), ws_any.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def test_purging_everything_then_appending(ws_any: momenti.Workspace) -> None:
    _actions(ws_any)
    with ws_any.session() as s, s.begin():
        audit.purge_before(s, (audit.utcnow() + dt.timedelta(days=1)).date())
    with ws_any.session() as s, s.begin():
        audit.record(s, "system", "after.purge")
    report = _verify(ws_any)
    assert report.intact and report.entries == 2, report.summary()


# -- the migration over existing rows ----------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def old_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    from conftest import _drop_database

    url = request.getfixturevalue("pg_url").replace("momenti_test_", "momenti_audit_mig_")
    _drop_database(url)
    from momenti.store.db import ensure_postgres_database

    ensure_postgres_database(url)
    yield url
    _drop_database(url)


def test_the_migration_chains_existing_entries(old_store_url: str, tmp_path: Path) -> None:
    from alembic import command

    from momenti.store.db import alembic_config, make_engine, migrate

    engine = make_engine(old_store_url)
    cfg = alembic_config(old_store_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0012")
    with engine.begin() as conn:  # entries as the code before the chain wrote them
        for i in range(12):
            conn.execute(text("INSERT INTO audit_log (at, actor, action, target, detail, ip) VALUES "
                              "(:at, :actor, 'user.create', :t, :d, NULL)"),
                         {"at": dt.datetime(2026, 1, 1, 10, 0, i, 1000 * i), "actor": "cli:ops", "t": f"u{i}",
                          "d": json.dumps({"role": "analyst", "team": None, "i": i}) if i % 2 else None})
    migrate(engine)
    engine.dispose()
    with momenti.open(old_store_url, data_dir=tmp_path / "data") as ws:
        report = _verify(ws)
        assert report.intact and report.entries == 12, report.summary()
        with ws.session() as s, s.begin():
            audit.record(s, "system", "after.migration")
        assert _verify(ws).entries == 13
        with pytest.raises(DBAPIError, match="append-only"), ws.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'x'"))


# -- the commands --------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(ws_any: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> momenti.Workspace:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(ws_any.settings.data_dir))
    if ws_any.settings.database_url:
        monkeypatch.setenv("MOMENTI_DATABASE_URL", ws_any.settings.database_url)
    return ws_any


def test_cli_verify_exit_codes(cli_env: momenti.Workspace) -> None:
    _actions(cli_env)
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output and f"{_count(cli_env)} entries checked" in ok.output
    mid = _ids(cli_env)[4]
    _tamper(cli_env, ("UPDATE audit_log SET actor = actor || ' (edited)' WHERE id = :i", {"i": mid}))
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
    _actions(cli_env)
    today = audit.utcnow().date().isoformat()
    runner = CliRunner()
    out = tmp_path / "audit.json"
    r = runner.invoke(cli_app, ["audit", "export", "--from", "2020-01-01", "--to", today, "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "momenti.audit/1" and "SHA-256" in doc["canonical"]
    entries = doc["entries"]
    assert len(entries) == _count(cli_env) - 1  # the export's own entry comes after it
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
    assert _verify(cli_env).intact
    # a range in the future has nothing; a wrong day is a clear error
    r = runner.invoke(cli_app, ["audit", "export", "--from", "2099-01-01", "--to", "2099-01-02"])
    assert r.exit_code == 0 and json.loads(r.output)["entries"] == []
    r = runner.invoke(cli_app, ["audit", "export", "--from", "yesterday", "--to", today])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output


def test_cli_list(cli_env: momenti.Workspace) -> None:
    _actions(cli_env)
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
        mid = _ids(ws)[2]
        _tamper(ws, ("UPDATE audit_log SET target = 'forged' WHERE id = :i", {"i": mid}))
        broken = c.get("/admin/audit?lang=en&verify=1")
        assert "Chain NOT intact" in broken.text and f"entry {mid}" in broken.text
        doc = c.get("/admin/audit?format=json&verify=1").json()
        assert doc["verify"]["intact"] is False and doc["verify"]["problem"]["id"] == mid
