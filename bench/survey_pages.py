"""Public survey pages under load: time to first byte and weight of `/s/<survey>`, then complete submissions
per second from a loopback load generator, and a check that the store holds exactly the acknowledged ones.

    python bench/survey_pages.py                     # 30 s of load, 16 concurrent respondents
    BENCH_SECONDS=5 BENCH_CLIENTS=8 python bench/survey_pages.py

A submission is what a browser does: GET the first page (a fresh session), POST page 1 (303), GET page 2,
POST page 2 (303 = acknowledged: the response is written before the redirect). One submission in fifty posts
its last page twice (a double click): it must not count twice. Baseline in the same run: the TTFB of the
server's cheapest route, GET /api/v1/health.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from httpbench import Connection, momenti_server

import momenti
from momenti.domains.surveys.service import apply_survey

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("BENCH_SECONDS", 30))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 16))
TTFB_SAMPLES = int(os.environ.get("BENCH_TTFB_SAMPLES", 300))


def _t(it: str, en: str) -> dict[str, str]:
    return {"it": it, "en": en}


SURVEY = {
    "key": "bench", "title": _t("Visita in filiale", "Branch visit"), "thanks": _t("Grazie", "Thank you"),
    "intro": _t("Due pagine, un minuto.", "Two pages, one minute."), "touchpoints": ["branch-visit"],
    "hidden": ["agent"],
    "pages": [
        {"questions": [
            {"key": "nps", "type": "nps", "required": True,
             "text": _t("Quanto è probabile che ci consigli a un amico?", "How likely are you to recommend us?")},
            {"key": "csat", "type": "csat", "required": True,
             "text": _t("Quanto è soddisfatto della visita?", "How satisfied are you with the visit?")}]},
        {"questions": [
            {"key": "why_low", "type": "single", "show_if": {"question": "nps", "in": ["0..6"]},
             "text": _t("Che cosa non è andato?", "What went wrong?"),
             "options": [{"key": "wait", "text": _t("L'attesa", "The wait")},
                         {"key": "staff", "text": _t("Il personale", "The staff")}]},
            {"key": "comment", "type": "text", "text": _t("Vuole aggiungere qualcosa?", "Anything to add?")}]},
    ],
}


BROWSER = {"Accept-Language": "it-IT,it;q=0.9"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SID = re.compile(rb'name="sid" value="([^"]+)"')


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[int(q * (len(s) - 1))] * 1000


async def ttfb(host: str, port: int) -> tuple[list[float], list[float], int, bytes]:
    conn = Connection(host, port, BROWSER)
    page, health = [], []
    size, html = 0, b""
    for _ in range(20):  # warm up both routes
        await conn.request("GET", "/s/bench")
        await conn.request("GET", "/api/v1/health")
    for _ in range(TTFB_SAMPLES):
        status, _, html, t = await conn.request("GET", "/s/bench?agent=a1")
        assert status == 200, status
        page.append(t)
        size = len(html)
        health.append((await conn.request("GET", "/api/v1/health"))[3])
    return page, health, size, html


async def load(host: str, port: int) -> tuple[list[float], list[float], int, int]:
    latencies: list[float] = []
    submissions: list[float] = []
    acknowledged = 0
    errors = 0
    counter = 0
    deadline = time.perf_counter() + SECONDS

    async def respondent() -> None:
        nonlocal acknowledged, errors, counter
        conn = Connection(host, port, BROWSER)

        async def req(method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
            status, headers, data, _ = await conn.request(method, path, body, FORM if method == "POST" else None)
            latencies.append(time.perf_counter() - t_req)
            return status, headers, data

        while time.perf_counter() < deadline:
            i = counter
            counter += 1
            t_sub = time.perf_counter()
            t_req = time.perf_counter()
            status, _, html = await req("GET", f"/s/bench?agent=a{i % 7}")
            m = SID.search(html)
            if status != 200 or m is None:
                errors += 1
                continue
            sid = m[1].decode()
            nps = i % 11
            t_req = time.perf_counter()
            body = urlencode({"sid": sid, "p": 0, "lang": "it", "action": "next", "website": "", "agent": "a1",
                              "nps": nps, "csat": 1 + i % 5}).encode()
            status, headers, _ = await req("POST", "/s/bench", body)
            if status != 303:
                errors += 1
                continue
            t_req = time.perf_counter()
            status, _, _ = await req("GET", headers["location"])
            fields = {"sid": sid, "p": 1, "lang": "it", "action": "next", "website": "", "comment": f"c{i}"}
            if nps <= 6:
                fields["why_low"] = "wait"
            body = urlencode(fields).encode()
            ok = False
            for _ in range(2 if i % 50 == 0 else 1):  # a double click on the last page now and then
                t_req = time.perf_counter()
                status, headers, _ = await req("POST", "/s/bench", body)
                ok = ok or (status == 303 and "sid=" in headers.get("location", ""))
            if ok:
                acknowledged += 1
                submissions.append(time.perf_counter() - t_sub)
            else:
                errors += 1

    await asyncio.gather(*(respondent() for _ in range(CLIENTS)))
    return latencies, submissions, acknowledged, errors


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        ws = momenti.open(data)
        ws.apply_journey(ROOT / "src/momenti/domains/journey_map/templates/bank.yaml")
        apply_survey(ws, SURVEY)
        ws.close()
        # The abuse limits protect a real server from one address; the load generator is one address.
        with momenti_server(data, MOMENTI_RATE_IP_BURST="1000000000", MOMENTI_RATE_IP_PER_MINUTE="1000000000") as port:
            page, health, size, html = asyncio.run(ttfb("127.0.0.1", port))
            t0 = time.perf_counter()
            latencies, subs, acknowledged, errors = asyncio.run(load("127.0.0.1", port))
            elapsed = time.perf_counter() - t0
        ws = momenti.open(data)
        with ws.session() as s:
            from sqlalchemy import func, select

            from momenti.store.models import Response

            stored = s.scalar(select(func.count()).select_from(Response)
                              .where(Response.external_id.like("survey:bench:%")))
        in_metrics = int(ws.nps()["n"].sum())
        ws.close()
    external = [m.decode() for m in re.findall(rb'(?:src|href)="(https?://[^"]+)"', html)]
    p50, p50h = statistics.median(page) * 1000, statistics.median(health) * 1000
    print(f"GET /s/bench: TTFB p50 {p50:.2f} ms, p99 {pct(page, 0.99):.2f} ms (target < 20 ms); "
          f"baseline GET /api/v1/health p50 {p50h:.2f} ms; ratio {p50 / p50h:.1f}x")
    print(f"  page weight {size:,} bytes HTML with inline CSS (target < 30 KB), external requests: {len(external)}")
    print(f"{CLIENTS} respondents, {elapsed:.0f} s on loopback, 2 pages each (4-5 requests per submission)")
    print(f"  {acknowledged / elapsed:,.1f} submissions/s ({len(latencies) / elapsed:,.0f} requests/s), request "
          f"p50 {pct(latencies, 0.5):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms; submission p50 "
          f"{pct(subs, 0.5):.1f} ms, p99 {pct(subs, 0.99):.1f} ms; {errors} failed")
    print(f"  acknowledged {acknowledged:,}, stored {stored:,}, in metrics {in_metrics:,}: "
          f"lost or duplicated {acknowledged - stored}")
    ok = stored == acknowledged == in_metrics and errors == 0 and size < 30_000 and not external
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
