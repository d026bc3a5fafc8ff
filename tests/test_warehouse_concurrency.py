"""Readers and writers at the same time in one process (the server: request threads and the background sync)
never collide on the warehouse: DuckDB refused to attach the same file twice ("Unique file handle conflict"),
which answered 500 to readers while a sync ran. A bounded threaded storm on DuckDB and on PostgreSQL: 0 errors,
and every written record is counted in the end."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import momenti
from conftest import BANK
from momenti.core.config import get_settings
from momenti.workspace import Workspace

WRITES, READERS = 12, 4


def _storm(ws: Workspace) -> list[BaseException]:
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                ws.nps(by="touchpoint")
                ws.warehouse_counts()
            except BaseException as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(exc)
                return

    def write() -> None:
        try:
            for i in range(WRITES):
                rec = {"response_id": f"s{i}", "customer_id": f"c{i}", "touchpoint": "branch-visit",
                       "submitted_at": "2026-01-05T10:00:00Z", "nps": i % 11}
                ws.import_records("responses", [rec], sync=False)
                ws.sync()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    threads = [threading.Thread(target=read) for _ in range(READERS)] + [threading.Thread(target=write)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120  # bounded: a hang fails the test instead of the suite
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    done.set()
    assert not any(t.is_alive() for t in threads), "the storm did not finish in 120 s"
    return errors


@pytest.mark.parametrize("warehouse", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_readers_and_sync_never_collide(tmp_path: Path, request: pytest.FixtureRequest, warehouse: str) -> None:
    extra = {"warehouse_url": request.getfixturevalue("pg_warehouse_url")} if warehouse == "postgres" else {}
    momenti.open(tmp_path / "data", **extra).apply_journey(BANK)
    ws = Workspace(get_settings(data_dir=tmp_path / "data", **extra), bulk=False)  # as the server opens it
    try:
        errors = _storm(ws)
        assert errors == [], [f"{type(e).__name__}: {e}" for e in errors[:3]]
        assert int(ws.nps()["n"].sum()) == WRITES
    finally:
        ws.close()


def test_threads_opening_the_duckdb_file_at_once(tmp_path: Path) -> None:
    """The collision itself: before, 4 threads opening and closing the file for 5 s hit "Unique file handle
    conflict" several times."""
    from momenti.warehouse.connection import open_warehouse

    url = f"duckdb://{tmp_path / 'w.duckdb'}"
    with open_warehouse(url) as wh:
        wh.sql("CREATE TABLE t (x INTEGER)")
    errors: list[str] = []

    def loop(stop: float) -> None:
        while time.monotonic() < stop:
            try:
                with open_warehouse(url) as wh:
                    wh.rows("SELECT count(*) FROM t")
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(f"{type(exc).__name__}: {exc}")

    stop = time.monotonic() + 5
    threads = [threading.Thread(target=loop, args=(stop,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    # Closed when the last user left: another process (here: a fresh connection) can open the file.
    import duckdb

    duckdb.connect(str(tmp_path / "w.duckdb")).close()
