"""A dashboard question asked twice: NPS by touchpoint by month on the small demo, through `ws.run`.

    python bench/query_cache.py
    BENCH_SIZE=medium python bench/query_cache.py

The first call computes (warehouse query, intervals, DataFrame); the second is served from the result cache
(keyed by the query and the warehouse's watermarks: one small watermark query and a copy of the frame).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import demo_workspace  # noqa: E402 - the generator the tests use

SIZE = os.environ.get("BENCH_SIZE", "small")
QUESTION = {"kind": "nps", "by": ["touchpoint"], "period": "month"}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_workspace(Path(tmp) / "data", size=SIZE)
        try:
            t0 = time.perf_counter()
            first = ws.run(QUESTION)
            t1 = time.perf_counter()
            second = ws.run(QUESTION)
            t2 = time.perf_counter()
        finally:
            ws.close()
    assert first.equals(second) and ws.results.hits == 1
    cold, warm = t1 - t0, t2 - t1
    print(f"query cache, demo {SIZE}: NPS by touchpoint by month ({len(first)} rows)")
    print(f"  first call  {cold * 1000:8.1f} ms")
    print(f"  second call {warm * 1000:8.1f} ms (from the cache)")
    print(f"  ratio       {cold / warm:8.1f}x")


if __name__ == "__main__":
    main()
