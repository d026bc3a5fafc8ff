"""Backups: `momenti backup DIR` while writes go on, `momenti restore DIR` into a fresh deployment, and every
metric equal afterwards — on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

import momenti
from conftest import BANK, _drop_database
from momenti.core.errors import ConflictError
from momenti.domains.operations.backup import backup, check, restore


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"response_id": f"b-{i}", "customer_id": f"C-{i % 50}", "touchpoint": "branch-visit",
             "submitted_at": f"2026-09-{1 + i % 28:02d}T10:00:00Z", "nps": i % 11, "csat": 1 + i % 5,
             "comment": "ottimo servizio" if i % 3 else "attesa lunga"} for i in range(start, start + n)]


def _metrics(ws: momenti.Workspace) -> list:
    return [ws.nps(by="touchpoint").to_dict("records"), ws.csat(by="touchpoint").to_dict("records"),
            ws.warehouse_counts()]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_backup_and_restore_round_trip(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import make_workspace

    ws = make_workspace(tmp_path / "a", backend, request)
    ws.apply_journey(BANK)
    ws.import_records("responses", _rows(300))
    ref = ws.customer_ref("C-1")  # keyed by the deployment's secret: equal after restore only if it came back
    stop = threading.Event()

    def keep_writing() -> None:  # writes during the backup: the copy must still be consistent
        k = 1000
        while not stop.is_set():
            ws.import_records("responses", _rows(5, k), sync=False)
            k += 5

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        manifest = backup(ws, tmp_path / "backup")
    finally:
        stop.set()
        writer.join()
    ws.sync()
    assert manifest["store"] == ("sqlite" if backend == "sqlite" else "postgresql")
    assert manifest["tables"]["responses"] >= 300 and "secret.key" in manifest["files"]
    with pytest.raises(ConflictError):
        backup(ws, tmp_path / "backup")  # never over an earlier backup

    # restore into a fresh deployment (a new data directory; on PostgreSQL a new database)
    if backend == "postgres":
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(request.getfixturevalue("pg_url")).set(database="momenti_restore_test")
        _drop_database(url.render_as_string(hide_password=False))
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("CREATE DATABASE momenti_restore_test"))
        admin.dispose()
        target = {"data_dir": tmp_path / "b", "database_url": url.render_as_string(hide_password=False)}
    else:
        target = {"data_dir": tmp_path / "b"}
    from momenti.core.config import get_settings

    done = restore(get_settings(**target), tmp_path / "backup")
    restored = momenti.open(target.get("database_url") or target["data_dir"], data_dir=target["data_dir"])
    try:
        if done["rebuild_warehouse"]:
            restored.sync(rebuild=True)
        assert check(restored.engine, done["manifest"]) == []
        assert restored.customer_ref("C-1") == ref
        snap = backup(restored, tmp_path / "backup2")["tables"]
        assert snap["responses"] == manifest["tables"]["responses"]
        # the restored deployment answers what the original answered when the backup was taken
        assert restored.warehouse_counts()["responses"] == manifest["tables"]["responses"]
    finally:
        restored.close()
    with pytest.raises(ConflictError):
        restore(get_settings(**target), tmp_path / "backup")  # not over a deployment that has data
    if backend == "postgres":
        _drop_database(target["database_url"])


def test_the_commands_restore_every_metric(workspace: momenti.Workspace, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    workspace.import_records("responses", _rows(200))
    before = _metrics(workspace)
    runner = CliRunner()
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    out = runner.invoke(app, ["backup", str(tmp_path / "bk")])
    assert out.exit_code == 0, out.output
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(tmp_path / "fresh"))
    back = runner.invoke(app, ["restore", str(tmp_path / "bk")])
    assert back.exit_code == 0, back.output
    assert "every table's rows equal the backup's" in " ".join(back.stdout.split())
    assert _metrics(momenti.open(tmp_path / "fresh")) == before
    assert runner.invoke(app, ["restore", str(tmp_path / "bk")]).exit_code != 0  # not empty any more
    assert runner.invoke(app, ["restore", str(tmp_path / "bk"), "--force"]).exit_code == 0
