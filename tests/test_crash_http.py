"""kill -9 of `momenti serve` under a loopback load of single-record POSTs: nothing acknowledged is lost, nothing
is counted twice, and the warehouse catches up after the restart without a manual command. (The outside check
`trust-kill9-http` runs the same at 8 clients for 20 s; this is its small size, in `make test`.)"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from auth_helpers import make_token
from browser_helpers import free_port
from conftest import BANK

pytestmark = pytest.mark.slow


def _serve(data: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "MOMENTI_DATA_DIR": str(data), "MOMENTI_SYNC_DEBOUNCE_S": "0.2"}
    proc = subprocess.Popen([sys.executable, "-m", "momenti.cli.main", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text()[-2000:]
        time.sleep(0.2)
    raise AssertionError("the server did not start")


def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    import momenti

    data = tmp_path / "data"
    with momenti.open(data) as ws:
        ws.apply_journey(BANK)
        token, read = make_token(ws, "ingest"), make_token(ws, "read")
    port, log = free_port(), tmp_path / "serve.log"
    proc = _serve(data, port, log)
    acked: set[str] = set()
    pending: dict[str, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        n = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=5) as c:
            while not stop.is_set():
                rid = f"k9-{k}-{n}"
                body = {"response_id": rid, "customer_id": f"C-{k}", "touchpoint": "branch-visit",
                        "submitted_at": "2026-09-01T10:00:00Z", "answers": {"nps": n % 11}}
                n += 1
                try:
                    ok = c.post("/api/v1/responses", json=body).status_code in (200, 201)
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        acked.add(rid)
                    else:
                        pending[rid] = body

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(2.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the server and anything under it, at once
    proc.wait()
    proc = _serve(data, port, log)
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    # a careful client resends what was not acknowledged, with the same ids
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                      timeout=10) as c:
        for rid, body in list(pending.items()):
            if rid not in acked and c.post("/api/v1/responses", json=body).status_code in (200, 201):
                acked.add(rid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the warehouse catches up on its own
            n = sum(r["n"] for r in c.get("/api/v1/metrics/nps", headers={
                "Authorization": f"Bearer {read}"}).json()["rows"])
            if n >= len(acked):
                break
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(30)
    assert len(acked) > 100, "too little load to mean anything"
    store = sqlite3.connect(data / "momenti.db")
    ids = [r[0] for r in store.execute("SELECT external_id FROM responses")]
    store.close()
    assert len(ids) == len(set(ids)), "a response counted twice in the store"
    assert acked <= set(ids), f"{len(acked - set(ids))} acknowledged responses lost"
    wh = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    wids = [r[0] for r in wh.execute("SELECT external_id FROM responses").fetchall()]
    wh.close()
    assert sorted(wids) == sorted(ids), "the warehouse is not the store's replica after the restart"
    assert n == len(ids)

