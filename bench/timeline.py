"""A customer's timeline with 10 k interactions, warm: `GET /api/v1/customers/{id}/timeline` (first page of 100,
summary from every row) on the demo plus one heavy customer.

    python bench/timeline.py                  # the small demo + a customer with 10,000 events (~2 min)
    python bench/timeline.py --size large     # the large demo (long to generate)

The heavy customer has 10,000 events over two years, 60 responses with answers, 30 offers and 5 notes. Timed:
the REST route through FastAPI's TestClient with a read token (2 warm-up calls, then 30): p50 and p95 (target:
< 200 ms warm). Baseline in the same process: pandas reading the same customer's rows from the store with
`read_sql` (events, responses and answers, offers; no summary, no masking) and sorting them: what a script
against the database would do. Ratio: momenti p50 / baseline p50.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
HEAVY = "C-HEAVY-1"


def _heavy_rows(n_events: int) -> dict[str, list[dict]]:
    rng = np.random.default_rng(7)
    start = dt.datetime(2024, 11, 1)
    span = 730 * 86400
    secs = np.sort(rng.integers(0, span, n_events))
    acts = ["chiamata contact center", "login app", "bonifico", "chat assistente", "visita filiale"]
    chans = ["phone", "app", "app", "chat", "branch"]
    events = [{"event_id": f"heavy-e{i}", "customer_id": HEAVY,
               "timestamp": (start + dt.timedelta(seconds=int(s))).isoformat(), "activity": acts[i % 5],
               "channel": chans[i % 5], "reason": ["carta", "bonifico", None][i % 3],
               "agent": f"A{i % 40}", "outcome": "risolto", "duration_s": 60 + i % 600} for i, s in enumerate(secs)]
    responses = [{"response_id": f"heavy-r{i}", "customer_id": HEAVY, "touchpoint": "contact-centre-call",
                  "submitted_at": (start + dt.timedelta(days=12 * i)).isoformat(), "nps": int(rng.integers(0, 11)),
                  "csat": int(rng.integers(1, 6)), "comment": "servizio lento, chiamatemi al 347 123 4567"}
                 for i in range(60)]
    offers = [{"offer_id": f"heavy-o{i}", "customer_id": HEAVY, "offer": ["carta-gold", "prestito", "mutuo"][i % 3],
               "proposed_at": (start + dt.timedelta(days=24 * i)).isoformat(), "outcome": "declined"}
              for i in range(30)]
    return {"events": events, "responses": responses, "offers": offers}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="small")
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()

    import pandas as pd
    from fastapi.testclient import TestClient

    from auth_helpers import make_token
    from conftest import demo_workspace
    from momenti.core.config import get_settings
    from momenti.server.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-timeline-"))
    t0 = time.perf_counter()
    ws = demo_workspace(tmp / "data", size=args.size)
    for kind, rows in _heavy_rows(args.events).items():
        s = ws.import_records(kind, rows, source="bench")
        assert s.rejected == 0, s.errors[:3]
    for i in range(5):
        ws.add_customer_note(HEAVY, f"nota {i}: preferisce la sera")
    ws.sync()
    print(f"workspace ready in {time.perf_counter() - t0:.0f}s: {ws.warehouse_counts().get('events', 0):,} events, "
          f"{args.events:,} of them for {HEAVY}")
    secret = make_token(ws, "read")
    app = create_app(get_settings(data_dir=ws.settings.data_dir))
    ours: list[float] = []
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {secret}"}
        for i in range(2 + args.runs):
            t = time.perf_counter()
            r = client.get(f"/api/v1/customers/{HEAVY}/timeline", headers=h)
            if i >= 2:
                ours.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text[:200]
        body = r.json()
    assert body["counts"]["event"] == args.events and len(body["rows"]) == 100

    def baseline() -> int:
        raw = ws.engine.raw_connection()  # the store (SQLite here), as a script would read it
        conn = raw.driver_connection
        try:
            ev = pd.read_sql("SELECT * FROM events WHERE customer_key = ?", conn, params=(HEAVY,))
            rs = pd.read_sql("SELECT r.*, a.question_id, a.value_num, a.value_text FROM responses r "
                             "JOIN answers a ON a.response_id = r.id WHERE r.customer_key = ?", conn, params=(HEAVY,))
            of = pd.read_sql("SELECT * FROM offers WHERE customer_key = ?", conn, params=(HEAVY,))
        finally:
            raw.close()
        rows = pd.concat([ev[["timestamp"]].set_axis(["ts"], axis=1), rs[["submitted_at"]].set_axis(["ts"], axis=1),
                          of[["proposed_at"]].set_axis(["ts"], axis=1)])
        return len(rows.sort_values("ts", ascending=False))

    base: list[float] = []
    for i in range(2 + args.runs):
        t = time.perf_counter()
        baseline()
        if i >= 2:
            base.append(time.perf_counter() - t)

    def q(xs: list[float], p: float) -> float:
        return float(np.quantile(xs, p)) * 1000

    print(f"timeline of a customer with {args.events:,} events ({args.runs} warm calls)")
    print(f"  momenti  GET /api/v1/customers/{{id}}/timeline  p50 {q(ours, .5):7.1f} ms  p95 {q(ours, .95):7.1f} ms"
          f"  (target p50 < 200 ms)")
    print(f"  baseline pandas read_sql on the store             p50 {q(base, .5):7.1f} ms  p95 {q(base, .95):7.1f} ms")
    print(f"  ratio momenti / baseline (p50): {statistics.median(ours) / statistics.median(base):.2f}")
    ws.close()


if __name__ == "__main__":
    main()
