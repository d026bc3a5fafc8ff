"""A warehouse left behind the store (an import killed after its last chunk committed, API writes that no server
synced) is noticed and caught up by whatever opens the workspace next: a question, a re-run of the import that
adds nothing, `momenti warehouse status` says so. Imports left 'running' by a dead process are marked
interrupted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import momenti
from conftest import BANK, make_workspace
from momenti.core.clock import utcnow
from momenti.store.models import ImportRun

ROWS = [{"response_id": f"r{i}", "customer_id": f"c{i}", "touchpoint": "branch-visit",
         "submitted_at": "2026-01-05T10:00:00Z", "nps": i % 11} for i in range(40)]


def _left_behind(ws: momenti.Workspace) -> None:
    s = ws.import_records("responses", ROWS, sync=False)  # committed to the store, never synced
    assert s.added == len(ROWS)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_question_catches_up_a_warehouse_left_behind(tmp_path: Path, request: pytest.FixtureRequest,
                                                       backend: str) -> None:
    ws = make_workspace(tmp_path, backend, request)
    ws.apply_journey(BANK)
    _left_behind(ws)
    assert ws.warehouse_lag()["responses"] == (len(ROWS), 0, True)
    ws.close()
    again = momenti.open(ws.settings.database_url or tmp_path / "data", data_dir=tmp_path / "data")
    try:
        assert int(again.nps()["n"].sum()) == len(ROWS)
        assert again.warehouse_lag()["responses"] == (len(ROWS), len(ROWS), False)
    finally:
        again.close()


def test_rerun_adding_nothing_still_syncs(workspace: momenti.Workspace, tmp_path: Path) -> None:
    _left_behind(workspace)
    path = tmp_path / "same.csv"
    path.write_text("response_id,customer_id,touchpoint,submitted_at,nps\n"
                    + "".join(f"{r['response_id']},{r['customer_id']},{r['touchpoint']},{r['submitted_at']},"
                              f"{r['nps']}\n" for r in ROWS))
    s = workspace.import_file("responses", path)
    assert (s.added, s.duplicates) == (0, len(ROWS))
    assert workspace.warehouse_counts()["responses"] == len(ROWS)


def test_status_shows_store_beside_warehouse(workspace: momenti.Workspace, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from momenti.cli.main import app

    _left_behind(workspace)
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    out = CliRunner().invoke(app, ["warehouse", "status"]).stdout
    line = next(x for x in out.splitlines() if x.split()[:1] == ["responses"])
    assert line.split() == ["responses", "store", "40", "warehouse", "0", "behind"]
    assert "the warehouse is behind the store" in out


def test_runs_left_running_by_a_dead_process_are_marked_interrupted(workspace: momenti.Workspace) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    with workspace.session() as s, s.begin():
        s.add_all([ImportRun(kind="responses", source="killed.csv", started_at=utcnow(), status="running",
                             owner=f"{host}:{dead.pid}"),
                   ImportRun(kind="responses", source="live.csv", started_at=utcnow(), status="running",
                             owner=f"{host}:{os.getpid()}"),
                   ImportRun(kind="responses", source="elsewhere.csv", started_at=utcnow(), status="running",
                             owner="other-host:1")])
    fresh = momenti.open(workspace.settings.data_dir)
    try:
        fresh.nps()  # any question opens the warehouse and looks
        with fresh.session() as s:
            got = {r.source: r.status for r in s.scalars(select(ImportRun))}
    finally:
        fresh.close()
    assert got == {"killed.csv": "interrupted", "live.csv": "running", "elsewhere.csv": "running"}


def test_a_write_while_the_sync_reads_dimensions_loses_no_answer(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A response with a new answer key committed between the sync reading the dimensions and reading the
    facts: its answers were dropped (no question to join to) and the watermark moved past them for good."""
    from momenti.core.config import get_settings
    from momenti.warehouse import sync as wsync
    from momenti.workspace import Workspace

    momenti.open(tmp_path / "data").apply_journey(BANK)
    ws = Workspace(get_settings(data_dir=tmp_path / "data"), bulk=False)  # as the server: DBAPI connections
    real, landed = wsync.Dimensions.read, []

    def read_then_a_write_lands(store):  # noqa: ANN001, ANN202
        dims = real(store)
        if not landed:
            landed.append(ws.import_records("responses", [dict(ROWS[0], nps=3)], sync=False).added)
        return dims

    monkeypatch.setattr(wsync.Dimensions, "read", staticmethod(read_then_a_write_lands))
    try:
        ws.sync()
        ws.sync()
        assert landed == [1]
        assert ws.warehouse_counts()["answers"] == 1
        assert int(ws.nps()["n"].sum()) == 1
    finally:
        ws.close()
