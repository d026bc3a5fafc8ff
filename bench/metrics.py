"""NPS by touchpoint x month on N responses, and the cuts by language and by a customer segment: momenti vs
pandas, same run.

    python bench/metrics.py            # 10 M responses (BENCH_N to change)

Every momenti time is a *computed* answer: the workspace's result cache (which answers the same question on
the same data in a lookup) is emptied before each call; the cached answer is printed apart. Checks that
momenti and pandas give the same groups and counts.
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


SEGMENTS = np.array(["mass", "affluent", "private", "small-business"])


def make_customers(seed: int = 4) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({"customer_id": pa.array(np.char.add("c", np.arange(200_000).astype(str))),
                     "segment": pa.array(SEGMENTS[rng.choice(4, 200_000, p=[.6, .25, .05, .1])])})


def best_of(fn, repeat: int = REPEAT, before=None) -> tuple[float, object]:  # noqa: ANN001
    times, out = [], None
    for _ in range(repeat):
        if before is not None:
            before()
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

        customers = make_customers()
        ws.import_table("customers", customers, source="bench")
        cold = ws.results.clear  # every timed call computes its answer

        ws.nps(by=["touchpoint"], period="month")  # warm the file cache
        t_rollup, res = best_of(lambda: ws.nps(by=["touchpoint"], period="month"), before=cold)
        t_lang, res_lang = best_of(lambda: ws.nps(by=["touchpoint", "language"], period="month"), before=cold)
        # A customer attribute cannot be in a rollup (it changes): this is the raw-answer path such cuts take.
        t_seg, res_seg = best_of(lambda: ws.nps(by=["touchpoint", "segment:segment"], period="month"), before=cold)
        t_cached, _ = best_of(lambda: ws.nps(by=["touchpoint", "segment:segment"], period="month"))

        df = table.select(["customer_id", "touchpoint", "submitted_at", "language", "nps"]).to_pandas()
        df["submitted_at"] = df["submitted_at"].dt.tz_localize(None)
        df = df.merge(customers.to_pandas(), on="customer_id", how="left").drop(columns="customer_id")

        def pandas_nps(keys: list[str]) -> pd.DataFrame:
            g = df.assign(month=df.submitted_at.dt.to_period("M"), pro=df.nps >= 9, det=df.nps <= 6)
            g = g.groupby([*keys, "month"]).agg(n=("nps", "size"), pro=("pro", "sum"), det=("det", "sum"))
            g["nps"] = 100 * (g.pro - g.det) / g.n
            return g

        t_pandas, ref = best_of(lambda: pandas_nps(["touchpoint"]))
        t_pandas_lang, ref_lang = best_of(lambda: pandas_nps(["touchpoint", "language"]))
        t_pandas_seg, ref_seg = best_of(lambda: pandas_nps(["touchpoint", "segment"]))
    ok = all(int(r["n"].sum()) == N and len(r) == len(p)
             for r, p in ((res, ref), (res_lang, ref_lang), (res_seg, ref_seg)))
    print(f"NPS by touchpoint x month, {N:,} responses (median of {REPEAT}, result cache emptied before each):")
    for label, tm, tp in (("touchpoint (daily rollup)", t_rollup, t_pandas),
                          ("touchpoint x language (daily rollup)", t_lang, t_pandas_lang),
                          ("touchpoint x segment (raw answers)", t_seg, t_pandas_seg)):
        print(f"  {label:38} momenti {tm * 1000:8.1f} ms   pandas {tp * 1000:8.1f} ms   ratio {tp / tm:6.1f}x")
    print(f"  the segment cut asked again (result cache): {t_cached * 1000:.1f} ms, {t_pandas_seg / t_cached:.0f}x")
    print(f"same groups and counts as pandas: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
