"""HTTP ingest under load: a loopback load generator posts responses to `momenti serve` for a fixed time,
then counts what landed. Reports responses/s, p50/p99 latency, and lost or duplicated records (must be 0).

    python bench/http_ingest.py                  # 30 s, one response per request, 16 concurrent clients
    BENCH_SECONDS=10 BENCH_BATCH=50 python bench/http_ingest.py

One request in fifty is sent twice (a client retry with the same response_id): it must not count twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from httpbench import Connection, momenti_server

import momenti
from momenti.domains.tokens import create_token

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("BENCH_SECONDS", 30))
BATCH = int(os.environ.get("BENCH_BATCH", 1))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 16))
TOUCHPOINTS = ["branch-visit", "app-login", "contact-centre-call", "card-block", "complaint-handling"]


def record(i: int) -> dict:
    return {"response_id": f"http-{i}", "customer_id": f"C{i % 5000:06d}", "touchpoint": TOUCHPOINTS[i % 5],
            "submitted_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
            "answers": {"nps": i % 11, "csat": 1 + i % 5}}


async def load(url: str, token: str) -> tuple[list[float], set[int], int]:
    latencies: list[float] = []
    accepted: set[int] = set()
    errors = 0
    counter = 0
    deadline = time.perf_counter() + SECONDS
    host, port = url.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def client() -> None:
        nonlocal counter, errors
        conn = Connection(host, int(port), headers)
        while time.perf_counter() < deadline:
            ids = list(range(counter, counter + BATCH))
            counter += BATCH
            body = json.dumps([record(i) for i in ids] if BATCH > 1 else record(ids[0])).encode()
            for attempt in range(2 if ids[0] % 50 == 0 else 1):  # some requests retried as a client would
                t0 = time.perf_counter()
                status, _, text, _ = await conn.request("POST", "/api/v1/responses", body)
                latencies.append(time.perf_counter() - t0)
                if status in (200, 201):
                    accepted.update(ids)
                else:
                    errors += 1
                    if attempt == 0 and errors < 5:
                        print(f"HTTP {status}: {text[:200]!r}")

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies, accepted, errors


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        ws = momenti.open(data)
        ws.apply_journey(ROOT / "src/momenti/domains/journey_map/templates/bank.yaml")
        with ws.session() as s, s.begin():
            _, token = create_token(s, "bench")
        ws.close()
        with momenti_server(data) as port:
            t0 = time.perf_counter()
            latencies, accepted, errors = asyncio.run(load(f"http://127.0.0.1:{port}", token))
            elapsed = time.perf_counter() - t0
            time.sleep(3)  # let the debounced warehouse sync run
        ws = momenti.open(data)
        with ws.session() as s:
            from sqlalchemy import func, select

            from momenti.store.models import Response

            stored = s.scalar(select(func.count()).select_from(Response))
        in_metrics = int(ws.nps()["n"].sum())
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(0.99 * (len(lat) - 1))] * 1000
    lost = len(accepted) - stored
    print(f"{CLIENTS} clients, {BATCH} response(s) per request, {elapsed:.0f} s on loopback")
    print(f"  {len(accepted) / elapsed:,.0f} responses/s accepted ({len(lat) / elapsed:,.0f} requests/s), "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} failed requests")
    print(f"  accepted {len(accepted):,}, stored {stored:,}, in metrics {in_metrics:,}: "
          f"lost or duplicated {lost}")
    return 0 if lost == 0 and in_metrics == stored and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
