"""A deployment with store and warehouse both on PostgreSQL (docs/deployment.md), as an operator runs it: `momenti
demo` through the CLI with MOMENTI_DATABASE_URL and MOMENTI_WAREHOUSE_URL set, the same questions as on the
default SQLite + DuckDB deployment (equal row by row), then `momenti serve` on it: health, a token from the CLI,
the REST answer equal to the CLI's, and a record posted over HTTP reaching the PostgreSQL warehouse with no
manual sync."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from browser_helpers import free_port
from conftest import _empty_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
MOMENTI = str(Path(sys.executable).parent / "momenti")


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([MOMENTI, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"momenti {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


def _nps_rows(rows: list[dict]) -> list[tuple]:
    keep = ("touchpoint", "period", "n", "nps", "ci_low", "ci_high")
    out = [tuple(r.get(k) for k in keep) for r in rows]
    return sorted(out, key=lambda t: (str(t[0]), str(t[1])))


def _same(a: list[tuple], b: list[tuple]) -> bool:
    def cell(x: object, y: object) -> bool:
        if isinstance(x, float) or isinstance(y, float):
            return x is not None and y is not None and math.isclose(float(x), float(y), abs_tol=1e-9)
        return x == y
    return len(a) == len(b) and all(len(r) == len(s) and all(map(cell, r, s)) for r, s in zip(a, b, strict=True))


def test_demo_and_server_on_postgres_store_and_warehouse(tmp_path: Path, pg_url: str,
                                                         pg_warehouse_url: str) -> None:
    _empty_postgres(pg_url)  # the session's store database: an earlier test's rows would make the demo refuse
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTI_")}
    default = {**base_env, "MOMENTI_DATA_DIR": str(tmp_path / "default")}
    pg = {**base_env, "MOMENTI_DATA_DIR": str(tmp_path / "pg"), "MOMENTI_DATABASE_URL": pg_url,
          "MOMENTI_WAREHOUSE_URL": pg_warehouse_url, "MOMENTI_SYNC_DEBOUNCE_S": "0.2"}
    for env in (default, pg):
        _cli(env, "demo", "--size", "small")
    # nothing of the PostgreSQL deployment went to the data directory's default files
    assert not (tmp_path / "pg" / "momenti.db").exists() and not (tmp_path / "pg" / "warehouse.duckdb").exists()
    question = ("metrics", "nps", "--by", "touchpoint", "--period", "month", "--format", "json")
    on_duck = _nps_rows(json.loads(_cli(default, *question))["rows"])
    on_pg = _nps_rows(json.loads(_cli(pg, *question))["rows"])
    assert on_duck and _same(on_duck, on_pg)
    variants = ("paths", "variants", "--format", "json")
    assert json.loads(_cli(default, *variants)) == json.loads(_cli(pg, *variants))
    status = _cli(pg, "warehouse", "status")
    assert status.splitlines()[1].startswith("warehouse: postgres"), status
    for kind in ("responses", "events", "feedback"):  # the replica holds what the store holds
        line = next(s.split() for s in status.splitlines() if s.split()[:1] == [kind])
        assert line[1] == "store" and line[3] == "warehouse" and line[2] == line[4] != "0", line

    reader = _cli(pg, "token", "create", "dashboards", "--scope", "read").strip().splitlines()[-1]
    writer = _cli(pg, "token", "create", "crm", "--scope", "ingest").strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([MOMENTI, "serve", "--port", str(port)], env=pg,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                health = httpx.get(base + "/api/v1/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.5)
        assert health.json()["status"] == "ok"
        read = {"Authorization": f"Bearer {reader}"}
        assert httpx.get(base + "/api/v1/metrics/nps", params={"by": "touchpoint"}).status_code == 401
        answer = httpx.get(base + "/api/v1/metrics/nps", params={"by": "touchpoint", "period": "month"},
                           headers=read, timeout=60)
        assert answer.status_code == 200, answer.text[:300]
        assert _same(_nps_rows(answer.json()["rows"]), on_pg)

        posted = httpx.post(base + "/api/v1/responses", headers={"Authorization": f"Bearer {writer}"}, timeout=30,
                            json={"response_id": "pg-deploy-1", "customer_id": "C999001", "touchpoint": "app-login",
                                  "submitted_at": "2026-11-15T10:00:00Z", "answers": {"nps": 10}})
        assert posted.status_code in (200, 201), posted.text[:300]
        wh = create_engine(pg_warehouse_url.replace("postgres://", "postgresql+psycopg://", 1))
        try:
            deadline = time.monotonic() + 60
            while True:  # the server's own sync brings it to the PostgreSQL warehouse
                with wh.connect() as conn:
                    got = conn.execute(text("SELECT count(*) FROM responses WHERE external_id = 'pg-deploy-1'"))
                    if got.scalar() == 1:
                        break
                assert time.monotonic() < deadline, "the posted response never reached the warehouse"
                time.sleep(0.5)
        finally:
            wh.dispose()
    finally:
        server.terminate()
        server.wait(timeout=90)
