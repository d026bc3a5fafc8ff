"""Soak: ten minutes of survey submissions, dashboard reads and REST ingest at once against one `momenti serve`,
watching the server's memory and each kind's p99 minute by minute.

    python bench/soak.py                          # 600 s on the small demo
    BENCH_SECONDS=120 python bench/soak.py

Passes when: 0 errors; the server's resident memory at the end within 10 % of what it was after the first
minute (the warm-up: caches, models and pools filled); every kind's p99 in the last minute within 2x of its first
minute's; every acknowledged response stored once. The baseline, in the same run, is the first minute itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from httpbench import Connection, momenti_process
from pages import PASSWORD, sign_in
from survey_pages import BROWSER, FORM, SID, SURVEY, pct

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
SECONDS = float(os.environ.get("BENCH_SECONDS", 600))
RESPONDENTS, READERS, WRITERS = 4, 2, 4
WAREHOUSE_MEMORY = re.compile(rb"^momenti_warehouse_memory_bytes ([0-9.e+]+)$", re.M)
PAGES = ["/", "/moments", "/trends", "/contact", "/voice", "/paths"]


class Samples:
    """Latencies per kind and minute, errors, and the ids acknowledged."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.by_minute: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.acked: set[str] = set()
        self.rss: list[tuple[float, int]] = []
        self.warehouse: list[tuple[float, float]] = []  # the server's own DuckDB accounting, MB (GET /metrics)

    def add(self, kind: str, seconds: float) -> None:
        self.by_minute[kind, int((time.perf_counter() - self.start) // 60)].append(seconds)

    def error(self, what: str) -> None:
        if len(self.errors) < 1000:
            self.errors.append(what)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def respondent(port: int, k: int, s: Samples, deadline: float) -> None:
    conn = Connection("127.0.0.1", port, BROWSER)
    i = 0
    while time.perf_counter() < deadline:
        i += 1
        t0 = time.perf_counter()
        status, _, html, _ = await conn.request("GET", f"/s/bench?agent=a{k}")
        m = SID.search(html)
        if status != 200 or m is None:
            s.error(f"survey page {status}")
            continue
        sid = m[1].decode()
        body = urlencode({"sid": sid, "p": 0, "lang": "it", "action": "next", "website": "", "agent": f"a{k}",
                          "nps": i % 11, "csat": 1 + i % 5}).encode()
        status, headers, _, _ = await conn.request("POST", "/s/bench", body, FORM)
        if status != 303:
            s.error(f"survey page 1 POST {status}")
            continue
        await conn.request("GET", headers["location"])
        fields = {"sid": sid, "p": 1, "lang": "it", "action": "next", "website": "",
                  "comment": f"attesa lunga allo sportello {k}-{i}" if i % 3 else f"servizio ottimo {k}-{i}"}
        status, headers, _, _ = await conn.request("POST", "/s/bench", urlencode(fields).encode(), FORM)
        if status == 303 and "sid=" in headers.get("location", ""):
            s.add("survey submission", time.perf_counter() - t0)
        else:
            s.error(f"survey last page POST {status}")


async def reader(port: int, cookie: str, k: int, s: Samples, deadline: float) -> None:
    conn = Connection("127.0.0.1", port, {"Cookie": cookie})
    i = k
    while time.perf_counter() < deadline:
        page = PAGES[i % len(PAGES)]
        i += 1
        t0 = time.perf_counter()
        status, _, _, _ = await conn.request("GET", page)
        if status == 200:
            s.add("dashboard page", time.perf_counter() - t0)
        else:
            s.error(f"GET {page} {status}")
        await asyncio.sleep(0.2)  # a person reads a page before the next click


async def writer(port: int, token: str, k: int, s: Samples, deadline: float) -> None:
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    i = 0
    while time.perf_counter() < deadline:
        i += 1
        rid = f"soak-{k}-{i}"
        body = json.dumps({"response_id": rid, "customer_id": f"C{(k * 7919 + i) % 4000:06d}",
                           "touchpoint": "app-login",
                           "submitted_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
                           "answers": {"nps": i % 11, "csat": 1 + i % 5}}).encode()
        t0 = time.perf_counter()
        status, _, text, _ = await conn.request("POST", "/api/v1/responses", body)
        if status in (200, 201):
            s.add("REST ingest", time.perf_counter() - t0)
            s.acked.add(rid)
        else:
            s.error(f"POST /api/v1/responses {status} {text[:100]!r}")


async def watch(port: int, pid: int, reader_token: str, s: Samples, deadline: float) -> None:
    while time.perf_counter() < deadline:
        s.rss.append((time.perf_counter() - s.start, rss_kb(pid)))
        # a new connection per scrape: one idle for 5 s is past the server's keep-alive
        conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {reader_token}"})
        _, _, text, _ = await conn.request("GET", "/metrics")
        assert conn.writer is not None
        conn.writer.close()
        m = WAREHOUSE_MEMORY.search(text)
        if m:  # absent while no request holds the warehouse open
            s.warehouse.append((time.perf_counter() - s.start, float(m[1]) / 2**20))
        await asyncio.sleep(5)


async def soak(port: int, pid: int, cookie: str, token: str, reader_token: str) -> Samples:
    s = Samples()
    deadline = s.start + SECONDS
    await asyncio.gather(*(respondent(port, k, s, deadline) for k in range(RESPONDENTS)),
                         *(reader(port, cookie, k, s, deadline) for k in range(READERS)),
                         *(writer(port, token, k, s, deadline) for k in range(WRITERS)),
                         watch(port, pid, reader_token, s, deadline))
    return s


def report(s: Samples, stored: int) -> list[str]:
    minutes = max(m for _, m in s.by_minute) + 1
    kinds = sorted({k for k, _ in s.by_minute})
    print(f"{'minute':>6s} " + " ".join(f"{k + ' p99':>24s}" for k in kinds) + f" {'server RSS':>11s}"
          f" {'DuckDB':>8s}")
    for m in range(minutes):
        rss = [kb for t, kb in s.rss if m * 60 <= t < (m + 1) * 60]
        cells = [f"{pct(s.by_minute.get((k, m), [0.0]), 0.99):21.0f} ms" for k in kinds]
        duck = [mb for t, mb in s.warehouse if m * 60 <= t < (m + 1) * 60]
        print(f"{m + 1:6d} " + " ".join(cells) + f" {max(rss, default=0) / 1024:8.0f} MB"
              f" {max(duck, default=0):5.0f} MB")
    problems = []
    last = minutes - 1 if minutes > 1 and len(s.by_minute.get((kinds[0], minutes - 1), [])) > 50 else minutes - 2
    for k in kinds:
        first, end = pct(s.by_minute[k, 0], 0.99), pct(s.by_minute[k, max(last, 0)], 0.99)
        total = sum(len(v) for (kk, _), v in s.by_minute.items() if kk == k)
        print(f"{k}: {total:,} in {SECONDS:.0f} s ({total / SECONDS:.1f}/s); p99 first minute {first:.0f} ms "
              f"(baseline), last {end:.0f} ms, ratio {end / first:.2f}x")
        if end > 2 * first:
            problems.append(f"{k}: p99 {end:.0f} ms in the last minute, over 2x the first minute's {first:.0f} ms")
    warm = next((kb for t, kb in s.rss if t >= 60), s.rss[0][1])
    final = s.rss[-1][1]
    growth = (final - warm) / warm * 100
    print(f"server RSS after the first minute {warm / 1024:.0f} MB, at the end {final / 1024:.0f} MB "
          f"({growth:+.1f} %)")
    if growth >= 10:
        problems.append(f"RSS grew {growth:.1f} % after warm-up")
    print(f"errors: {len(s.errors)}" + (f" (first: {s.errors[0]})" if s.errors else ""))
    if s.errors:
        problems.append(f"{len(s.errors)} errors")
    print(f"REST ingest: {len(s.acked):,} acknowledged, {stored:,} stored")
    if stored != len(s.acked):
        problems.append(f"{len(s.acked)} acknowledged, {stored} stored")
    return problems


def main() -> int:
    from sqlalchemy import func, select

    import momenti
    from auth_helpers import add_user, make_token
    from conftest import demo_workspace
    from momenti.domains.surveys.service import apply_survey
    from momenti.store.models import Response

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        with demo_workspace(data, size=os.environ.get("BENCH_SIZE", "small")) as ws:
            apply_survey(ws, SURVEY)
            add_user(ws, "bench@example.com", "admin", PASSWORD)
            token = make_token(ws, "ingest")
            reader_token = make_token(ws, "read")
        print(f"demo built in {time.perf_counter() - t0:.0f} s; {SECONDS:.0f} s of load: {RESPONDENTS} respondents, "
              f"{READERS} dashboard readers, {WRITERS} REST writers")
        with momenti_process(data, MOMENTI_RATE_IP_BURST="1000000000",
                             MOMENTI_RATE_IP_PER_MINUTE="1000000000") as (port, proc):
            cookie = sign_in(port)
            s = asyncio.run(soak(port, proc.pid, cookie, token, reader_token))
        with momenti.open(data) as ws, ws.session() as session:
            stored = session.scalar(select(func.count()).select_from(Response)
                                    .where(Response.external_id.like("soak-%")))
        problems = report(s, int(stored or 0))
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
