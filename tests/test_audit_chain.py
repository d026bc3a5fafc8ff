"""The audit log as a hash chain (domains/audit.py): intact after real actions, and every kind of tampering an
attacker with the database could do (edit, delete a middle or the last entry, re-order, cut) named by verify;
the append-only guards; concurrent appends; rollbacks; the retention purge; the migration over old rows. On
SQLite and PostgreSQL. The `momenti audit` commands and the /admin/audit page: test_audit_commands.py."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

import momenti
from audit_helpers import count_entries, entry_ids, record_actions, tamper, verify
from momenti.domains import audit
from momenti.domains.tokens import create_token
from momenti.store.access import (
    AuditEntry,
    AuditHead,
)

# -- the chain ---------------------------------------------------------------------------------------------


def test_real_actions_make_an_intact_chain(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    report = verify(ws_any)
    assert report.intact, report.summary()
    assert report.entries == count_entries(ws_any) >= 7
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
    record_actions(ws_any)
    ids = entry_ids(ws_any)
    mid = ids[len(ids) // 2]
    with ws_any.session() as s:
        action = s.get(AuditEntry, mid).action
    tamper(ws_any, ("UPDATE audit_log SET target = target || ' (edited)' WHERE id = :i", {"i": mid}))
    report = verify(ws_any)
    assert not report.intact
    assert report.problem.id == mid and report.problem.action == action
    assert "edited" in report.problem.what and report.problem.at is not None
    assert f"entry {mid}" in report.summary()


def test_an_edited_detail_or_time_is_named(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    ids = entry_ids(ws_any)
    tamper(ws_any, ("UPDATE audit_log SET at = :t WHERE id = :i", {"t": dt.datetime(2020, 1, 1), "i": ids[2]}))
    assert verify(ws_any).problem.id == ids[2]


def test_a_deleted_middle_entry_is_detected(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    ids = entry_ids(ws_any)
    mid = ids[len(ids) // 2]
    tamper(ws_any, ("DELETE FROM audit_log WHERE id = :i", {"i": mid}))
    report = verify(ws_any)
    assert not report.intact
    after = ids[ids.index(mid) + 1]
    assert report.problem.id == after and "deleted" in report.problem.what
    assert str(ids[ids.index(mid) - 1]) in report.problem.what  # the entry it no longer follows


def test_a_deleted_last_entry_is_detected(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    ids = entry_ids(ws_any)
    tamper(ws_any, ("DELETE FROM audit_log WHERE id = :i", {"i": ids[-1]}))
    report = verify(ws_any)
    assert not report.intact and report.problem.id == ids[-1]
    assert "deleted" in report.problem.what


def test_a_cut_log_and_a_reordered_entry_are_detected(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    ids = entry_ids(ws_any)
    tamper(ws_any, ("DELETE FROM audit_log WHERE id >= :i", {"i": ids[-3]}))
    assert "deleted" in verify(ws_any).problem.what
    tamper(ws_any, ("DELETE FROM audit_log", {}))
    report = verify(ws_any)
    assert not report.intact and report.entries == 0


def test_a_reordered_entry_is_detected(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    a, b = entry_ids(ws_any)[2:4]
    tamper(ws_any, ("UPDATE audit_log SET id = -1 WHERE id = :a", {"a": a}),
            ("UPDATE audit_log SET id = :a WHERE id = :b", {"a": a, "b": b}),
            ("UPDATE audit_log SET id = :b WHERE id = -1", {"b": b}))
    report = verify(ws_any)
    assert not report.intact and report.problem.id == a


def test_a_cut_beginning_with_a_forged_head_is_detected(ws_any: momenti.Workspace) -> None:
    """Deleting the oldest entries and fixing the head's count and base is caught: no audit.purge says so."""
    record_actions(ws_any)
    ids = entry_ids(ws_any)
    with ws_any.session() as s:
        base = s.get(AuditEntry, ids[3]).prev_hash
    tamper(ws_any, ("DELETE FROM audit_log WHERE id < :i", {"i": ids[3]}),
            ("UPDATE audit_head SET entries = entries - 3, base_hash = :b", {"b": base}))
    report = verify(ws_any)
    assert not report.intact and "purge" in report.problem.what


def test_update_and_delete_are_refused_by_the_database(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    mid = entry_ids(ws_any)[3]
    for stmt in ("UPDATE audit_log SET target = 'x' WHERE id = :i", "DELETE FROM audit_log WHERE id = :i"):
        with pytest.raises(DBAPIError, match="append-only"), ws_any.engine.begin() as conn:
            conn.execute(text(stmt), {"i": mid})
    assert verify(ws_any).intact


def test_concurrent_appends_from_eight_threads(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    before, per_thread, errors = count_entries(ws_any), 15, []
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
    report = verify(ws_any)
    assert report.intact, report.summary()
    assert report.entries == before + 8 * per_thread == count_entries(ws_any)
    with ws_any.session() as s:
        targets = set(s.scalars(select(AuditEntry.target).where(AuditEntry.action == "test.concurrent")))
    assert targets == {f"{n}/{i}" for n in range(8) for i in range(per_thread)}


def test_verify_while_others_append_sees_no_damage(ws_any: momenti.Workspace) -> None:
    """Head and entries are read in one snapshot: appends during a verify are not reported as a cut log."""
    record_actions(ws_any)
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
        reports = [verify(ws_any) for _ in range(15)]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == [] and all(r.intact for r in reports), [r.summary() for r in reports if not r.intact]
    assert verify(ws_any).entries == count_entries(ws_any) > reports[0].entries


def test_a_rolled_back_action_leaves_no_entry_and_an_intact_chain(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    before = count_entries(ws_any)
    with pytest.raises(RuntimeError), ws_any.session() as s, s.begin():
        create_token(s, "never", "read")
        audit.record(s, "system", "token.create", "never")
        raise RuntimeError("the action failed")
    assert count_entries(ws_any) == before and verify(ws_any).intact
    with ws_any.session() as s, s.begin():
        audit.record(s, "system", "after.rollback")
    report = verify(ws_any)
    assert report.intact and report.entries == before + 1


def test_a_truncated_head_starts_a_new_chain_that_verify_flags(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    with ws_any.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    assert "head" in verify(ws_any).problem.what
    with ws_any.session() as s, s.begin():
        audit.record(s, "system", "after.head.lost")
    assert not verify(ws_any).intact


# -- retention ---------------------------------------------------------------------------------------------


def test_purge_before_keeps_the_chain_verifiable(ws_any: momenti.Workspace, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    real = audit.utcnow
    monkeypatch.setattr(audit, "utcnow", lambda: real() - dt.timedelta(days=400))
    for i in range(5):
        with ws_any.session() as s, s.begin():
            audit.record(s, "system", "old.entry", str(i))
    monkeypatch.setattr(audit, "utcnow", real)
    record_actions(ws_any)
    kept = count_entries(ws_any) - 5
    day = (real() - dt.timedelta(days=30)).date()
    with ws_any.session() as s, s.begin():
        result = audit.purge_before(s, day, actor="system:retention")
    assert result["deleted"] == 5
    report = verify(ws_any)
    assert report.intact, report.summary()
    assert report.entries == kept + 1 and report.base_hash == result["base_hash"] != audit.ZERO
    with ws_any.session() as s:
        purge = s.scalars(select(AuditEntry).where(AuditEntry.action == "audit.purge")).one()
        assert purge.detail["deleted"] == 5 and purge.actor == "system:retention"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "old.entry")) == 0
    # the guard is back
    with pytest.raises(DBAPIError, match="append-only"), ws_any.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": entry_ids(ws_any)[0]})
    # and the purged chain still catches tampering
    tamper(ws_any, ("DELETE FROM audit_log WHERE id = :i", {"i": entry_ids(ws_any)[0]}))
    assert not verify(ws_any).intact


def test_a_purge_that_rolls_back_changes_nothing(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    before = count_entries(ws_any)
    with pytest.raises(RuntimeError), ws_any.session() as s, s.begin():
        audit.purge_before(s, (audit.utcnow() + dt.timedelta(days=1)).date())
        raise RuntimeError("changed my mind")
    assert count_entries(ws_any) == before and verify(ws_any).intact
    with pytest.raises(DBAPIError, match="append-only"), ws_any.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def test_purging_everything_then_appending(ws_any: momenti.Workspace) -> None:
    record_actions(ws_any)
    with ws_any.session() as s, s.begin():
        audit.purge_before(s, (audit.utcnow() + dt.timedelta(days=1)).date())
    with ws_any.session() as s, s.begin():
        audit.record(s, "system", "after.purge")
    report = verify(ws_any)
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
        report = verify(ws)
        assert report.intact and report.entries == 12, report.summary()
        with ws.session() as s, s.begin():
            audit.record(s, "system", "after.migration")
        assert verify(ws).entries == 13
        with pytest.raises(DBAPIError, match="append-only"), ws.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'x'"))
