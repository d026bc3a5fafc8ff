"""`momenti audit verify` on a big log: a million chained entries written straight into a fresh store, then the
whole chain verified (streamed).

    python bench/audit_verify.py                  # SQLite, 1,000,000 entries
    BENCH_N=200000 BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/momenti_bench python bench/audit_verify.py
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

import momenti
from momenti.domains import audit

N = int(os.environ.get("BENCH_N", "1000000"))
BATCH = 20_000


def fill(ws: momenti.Workspace, n: int) -> None:
    """n entries as `record` would write them (a realistic mix of details), in big batches."""
    prev, start = audit.ZERO, dt.datetime(2026, 1, 1)
    insert = text("INSERT INTO audit_log (id, at, actor, action, target, detail, ip, note, prev_hash, hash) "
                  "VALUES (:id, :at, :actor, :action, :target, :detail, :ip, NULL, :prev_hash, :hash)")
    import json

    with ws.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
        rows = []
        for i in range(1, n + 1):
            at = start + dt.timedelta(seconds=i, microseconds=i % 1_000_000)
            detail = {"rows": i % 50, "reason": "bad password"} if i % 3 else None
            actor, action, target, ip = f"user:u{i % 40}@example.com", ("login", "comments.read", "case.read")[i % 3], \
                f"case {i}", "10.0.0.1"
            h = audit.entry_hash(prev, at, actor, action, target, detail, ip, None)
            rows.append({"id": i, "at": at, "actor": actor, "action": action, "target": target,
                         "detail": json.dumps(detail), "ip": ip, "prev_hash": prev, "hash": h})
            prev = h
            if len(rows) == BATCH:
                conn.execute(insert, rows)
                rows = []
        if rows:
            conn.execute(insert, rows)
        conn.execute(text("INSERT INTO audit_head (id, last_id, last_hash, entries, base_hash) "
                          "VALUES (1, :i, :h, :n, :b)"), {"i": n, "h": prev, "n": n, "b": audit.ZERO})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = os.environ.get("BENCH_PG") or Path(tmp) / "data"
        if isinstance(target, str):
            from momenti.store.db import ensure_postgres_database

            ensure_postgres_database(target)
        ws = momenti.open(target, data_dir=Path(tmp) / "data")
        try:
            t0 = time.perf_counter()
            fill(ws, N)
            t1 = time.perf_counter()
            with ws.session() as s:
                report = audit.verify(s)
            t2 = time.perf_counter()
            print(f"{N:,} entries written in {t1 - t0:.1f} s; verify: {t2 - t1:.1f} s -> {report.summary()}")
            assert report.intact and report.entries == N
        finally:
            ws.close()


if __name__ == "__main__":
    main()
