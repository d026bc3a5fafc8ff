"""Bulk import of a responses CSV, end to end: `momenti import responses` (SQLite store + warehouse sync)
vs pandas read_csv + to_sql into SQLite, in the same run.

    python bench/ingest.py             # 1 M rows (BENCH_N to change)
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).parent))
from metrics import make_responses  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N = int(os.environ.get("BENCH_N", 1_000_000))
MOMENTI = str(Path(sys.executable).parent / "momenti")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "MOMENTI_DATA_DIR": str(tmp / "data")}
        subprocess.run([MOMENTI, "journey", "apply", str(ROOT / "src/momenti/domains/journey_map/templates/bank.yaml")],
                       env=env, check=True, capture_output=True)
        import yaml

        doc = yaml.safe_load((ROOT / "src/momenti/domains/journey_map/templates/bank.yaml").read_text())
        tps = [t["key"] for j in doc["journeys"] for s in j["stages"] for t in s["touchpoints"]]
        table = make_responses(N, tps)
        import numpy as np
        import pyarrow as pa

        csat = np.random.default_rng(5).integers(1, 6, N)
        table = table.append_column("csat", pa.array(csat))  # two answers per response
        csv = tmp / "responses.csv"
        pacsv.write_csv(table, csv)
        print(f"{N:,} responses, {csv.stat().st_size / 1e6:.0f} MB CSV, 2 answers each")

        t0 = time.perf_counter()
        run = subprocess.run([MOMENTI, "import", "responses", str(csv), "--json"], env=env, capture_output=True,
                             text=True)
        t_momenti = time.perf_counter() - t0
        if run.returncode != 0:
            print(run.stderr[-2000:])
            return 1
        import json

        summary = json.loads(run.stdout.strip().splitlines()[-1])

        t0 = time.perf_counter()
        df = pd.read_csv(csv)
        con = sqlite3.connect(tmp / "pandas.db")
        df.to_sql("responses", con, index=False, chunksize=100_000)
        con.commit()
        t_pandas = time.perf_counter() - t0

        import momenti

        ws = momenti.open(tmp / "data")
        counted = int(ws.nps()["n"].sum())
    ok = summary["added"] == N == counted and summary["rejected"] == 0
    print(f"momenti import (validate, store, warehouse)  {t_momenti:6.1f} s   {N / t_momenti:10,.0f} responses/s")
    print(f"pandas read_csv + to_sql (no validation)     {t_pandas:6.1f} s   {N / t_pandas:10,.0f} responses/s")
    print(f"ratio {t_pandas / t_momenti:.1f}x; warehouse counts {counted:,} responses: {'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
