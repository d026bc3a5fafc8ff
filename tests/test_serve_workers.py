"""`momenti serve --workers N`: several server processes on one port, one truth (server/workers.py).

Real processes on loopback: two serving processes and the background one. Sessions are valid on both, a rate
limit is counted once for the group, concurrent writes through both land once each, and exactly one process
(the background one) leads and syncs, so the warehouse holds every record once when the group stops.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import momenti
from auth_helpers import add_user, make_token
from browser_helpers import free_port
from momenti.core.config import Settings
from momenti.core.locks import FileLock
from momenti.server.leader import Leadership
from momenti.server.topology import check_topology

ROOT = Path(__file__).resolve().parents[1]
MOMENTI = str(Path(sys.executable).parent / "momenti")
TOUCHPOINTS = ["branch-visit", "app-login", "contact-centre-call", "card-block", "complaint-handling"]


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _record(i: int) -> dict:
    return {"response_id": f"w-{i}", "customer_id": f"C{i % 300:05d}", "touchpoint": TOUCHPOINTS[i % 5],
            "submitted_at": f"2026-{1 + i % 9:02d}-{1 + i % 27:02d}T10:00:00Z", "answers": {"nps": i % 11}}


def _login(base: str) -> httpx.Response:
    """A failed sign-in on a fresh connection (so the group's processes share them out)."""
    with httpx.Client(base_url=base, timeout=30) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:300]
        return c.post("/login", data={"email": "nobody@example.com", "password": "wrong-password-123",
                                      "csrf_token": token.group(1), "next": "/"},
                      headers={"Origin": base}, follow_redirects=False)


@pytest.mark.slow
def test_two_processes_one_truth(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ws = momenti.open(data)
    ws.apply_journey(ROOT / "src/momenti/domains/journey_map/templates/bank.yaml")
    token = make_token(ws, "ingest")
    reader = make_token(ws, "read")
    add_user(ws, "ada@example.com", "viewer")
    ws.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MOMENTI_DATA_DIR": str(data), "MOMENTI_LOGIN_RATE_PER_MINUTE": "3",
           "MOMENTI_SYNC_DEBOUNCE_S": "0.2"}
    server = subprocess.Popen([MOMENTI, "serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the group did not start"
            time.sleep(0.2)

        # Three children: two serving, one background; the background one leads (its pid is in the lock file).
        for _ in range(100):
            leader = (data / "server.leader").read_text().strip() if (data / "server.leader").exists() else ""
            if leader:
                break
            time.sleep(0.1)
        children = _children(server.pid)
        assert len(children) >= 3 and int(leader) in children
        answered = {}
        for _ in range(40):  # fresh connections: the kernel spreads them over both sockets
            h = httpx.get(base + "/api/v1/health", timeout=5).json()
            answered[h["process"]] = h["leads"]
        assert len(answered) == 2 and not any(answered.values()) and int(leader) not in answered

        # A session made on one process is valid on both.
        with httpx.Client(base_url=base, timeout=30) as c:
            page = c.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            r = c.post("/login", data={"email": "ada@example.com", "password": "Tramonto-Verde-Pino-2026",
                                       "csrf_token": csrf, "next": "/"}, headers={"Origin": base},
                       follow_redirects=False)
            assert r.status_code == 303, r.text[:300]
            cookies = dict(c.cookies)
        seen = set()
        for _ in range(30):
            with httpx.Client(base_url=base, cookies=cookies, timeout=30) as c:
                me = c.get("/api/v1/me")
                assert me.status_code == 200 and me.json()["kind"] == "user"
                seen.add(c.get("/api/v1/health").json()["process"])
        assert len(seen) == 2

        # Concurrent writes through both processes, with client retries of the same ids: each lands once.
        failures: list[str] = []

        def client(k: int) -> None:
            with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
                for i in range(k * 100, k * 100 + 100):
                    for _ in range(2 if i % 10 == 0 else 1):
                        r = c.post("/api/v1/responses", json=_record(i))
                        if r.status_code not in (200, 201) or r.json()["ids"] != [f"w-{i}"]:
                            failures.append(f"{r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures[:3]

        # A scrape, whichever process answers it, counts the answers of both.
        for _ in range(4):
            text = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {reader}"}, timeout=30).text
            posted = sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
                         if s.name == "momenti_http_requests_total" and s.labels["route"] == "/api/v1/responses")
            assert posted == 880  # 800 records, 80 of them sent twice

        # The sign-in limit (3 attempts a minute per address, the successful one above included) is the group's:
        # counted per process, up to 6 attempts would get through.
        statuses = [_login(base).status_code for _ in range(6)]
        assert statuses == [401, 401, 429, 429, 429, 429], statuses
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=120)
    assert server.returncode == 0, out[-2000:]

    ws = momenti.open(data)
    try:
        with ws.raw() as store:
            n, distinct = store.fetch_arrow("SELECT count(*) AS n, count(DISTINCT external_id) AS d FROM responses "
                                            "WHERE external_id LIKE 'w-%'").to_pylist()[0].values()
        assert n == distinct == 800
        lag = ws.warehouse_lag()["responses"]
        assert lag == (800, 800, False)  # synced once each, by the one leading process, before it stopped
    finally:
        ws.close()


def test_invalid_topologies_are_refused_at_start(tmp_path: Path) -> None:
    env = {**os.environ, "MOMENTI_DATA_DIR": str(tmp_path), "MOMENTI_WAREHOUSE_URL": "duckdb://:memory:"}
    run = subprocess.run([MOMENTI, "serve", "--port", str(free_port()), "--workers", "2"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "in memory, one per process" in run.stdout and "Traceback" not in run.stdout + run.stderr

    settings = Settings(data_dir=tmp_path)
    assert check_topology(settings, 1) is None and check_topology(settings, 4) is None
    assert "--reload" in (check_topology(settings, 2, reload=True) or "")
    assert "store" in (check_topology(Settings(data_dir=tmp_path, database_url="sqlite://"), 2) or "")
    assert "Spark" in (check_topology(Settings(data_dir=tmp_path, warehouse_url="pyspark://local"), 2) or "")
    assert check_topology(Settings(data_dir=tmp_path, warehouse_url="duckdb://:memory:"), 1) is None


def test_one_leader_and_writers_take_turns(tmp_path: Path) -> None:
    first, second = Leadership(tmp_path), Leadership(tmp_path)
    assert first.acquire_leadership() and not second.acquire_leadership()
    assert (tmp_path / "server.leader").read_text().strip() == str(os.getpid())
    first.release()
    assert second.acquire_leadership()
    second.release()

    order: list[str] = []
    lock_a, lock_b = FileLock(tmp_path / "w"), FileLock(tmp_path / "w")
    lock_a.acquire()

    def waiter() -> None:
        with lock_b:
            order.append("b")

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.3)
    order.append("a")  # b is still waiting for the lock a holds
    lock_a.release()
    t.join(10)
    assert order == ["a", "b"]
