"""NPS by touchpoint x month on N responses: momenti (rollup and raw-answer paths) vs pandas, same run.

    python bench/metrics.py            # 10 M responses (BENCH_N to change)

Prints each time, the ratio, and checks that all three give the same counts.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import momenti

ROOT = Path(__file__).resolve().parents[1]
N = int(os.environ.get("BENCH_N", 10_000_000))
REPEAT = 5


def make_responses(n: int, touchpoints: list[str], seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00")
    ts = start + rng.integers(0, 730 * 86400, n).astype("timedelta64[s]")
    return pa.table({
        "response_id": pa.array(np.char.add("r", np.arange(n).astype(str))),
        "customer_id": pa.array(np.char.add("c", rng.integers(0, 200_000, n).astype(str))),
        "touchpoint": pa.array(np.asarray(touchpoints)[rng.integers(0, len(touchpoints), n)]),
        "submitted_at": pa.array(ts.astype("datetime64[us]")).cast(pa.timestamp("us", tz="UTC")),
        "language": pa.array(np.where(rng.random(n) < 0.85, "it", "en")),
        "nps": pa.array(rng.integers(0, 11, n)),
    })


def best_of(fn, repeat: int = REPEAT) -> tuple[float, object]:  # noqa: ANN001
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ws = momenti.open(Path(tmp) / "data")
        ws.apply_journey(ROOT / "src/momenti/domains/journey_map/templates/bank.yaml")
        tps = [t["key"] for j in ws.journey_document()["journeys"] for s in j["stages"] for t in s["touchpoints"]]
        table = make_responses(N, tps)
        t0 = time.perf_counter()
        ws.import_table("responses", table, source="bench")
        print(f"setup: imported {N:,} responses in {time.perf_counter() - t0:.1f}s")

        ws.nps(by=["touchpoint"], period="month")  # warm the file cache
        t_rollup, res = best_of(lambda: ws.nps(by=["touchpoint"], period="month"))
        # Grouping by language too cannot use the rollup: this is the raw-answer path every custom cut takes.
        t_raw, res_raw = best_of(lambda: ws.nps(by=["touchpoint", "language"], period="month"))

        df = table.select(["touchpoint", "submitted_at", "language", "nps"]).to_pandas()
        df["submitted_at"] = df["submitted_at"].dt.tz_localize(None)

        def pandas_nps(keys: list[str]) -> pd.DataFrame:
            g = df.assign(month=df.submitted_at.dt.to_period("M"), pro=df.nps >= 9, det=df.nps <= 6)
            g = g.groupby([*keys, "month"]).agg(n=("nps", "size"), pro=("pro", "sum"), det=("det", "sum"))
            g["nps"] = 100 * (g.pro - g.det) / g.n
            return g

        t_pandas, ref = best_of(lambda: pandas_nps(["touchpoint"]))
        t_pandas_raw, ref_raw = best_of(lambda: pandas_nps(["touchpoint", "language"]))
    ok = int(res["n"].sum()) == int(ref["n"].sum()) == N and int(res_raw["n"].sum()) == N
    ok = ok and len(res) == len(ref) and len(res_raw) == len(ref_raw)
    print(f"NPS by touchpoint x month, {N:,} responses (median of {REPEAT}):")
    print(f"  momenti (daily rollup)      {t_rollup * 1000:8.1f} ms")
    print(f"  pandas groupby              {t_pandas * 1000:8.1f} ms   ratio {t_pandas / t_rollup:6.1f}x")
    print("NPS by touchpoint x language x month (raw answers, no rollup):")
    print(f"  momenti (DuckDB via Ibis)   {t_raw * 1000:8.1f} ms")
    print(f"  pandas groupby              {t_pandas_raw * 1000:8.1f} ms   ratio {t_pandas_raw / t_raw:6.1f}x")
    print(f"same groups and counts as pandas: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
