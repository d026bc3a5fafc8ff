"""kill -9 of `momenti import responses` at random points of a big file, then the same command again: every row
stored once (none lost, none twice), every answer once, and the warehouse equal to the store with no manual
command (the re-run's own sync catches up with what a killed run committed).

    python bench/crash_import.py           # 1 M rows, 4 kills (BENCH_N, BENCH_KILLS, BENCH_SEED to change)

tests/test_crash_import.py runs the same at a small size in `make test`. Not a speed race, so no baseline: it
prints where each kill landed (rows in the store at that moment, whether the run was in its warehouse sync).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).parent))
from metrics import make_responses  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "src/momenti/domains/journey_map/templates/bank.yaml"


def _momenti(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "momenti.cli.main", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, **kwargs)


def _apply_journey(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "momenti.cli.main", "journey", "apply", str(BANK)], env=env, check=True,
                   capture_output=True)


def _store_counts(db: Path) -> tuple[int, int, int]:
    """(responses, distinct response ids, answers) in the SQLite store, read while nothing writes."""
    with sqlite3.connect(db) as con:
        n, distinct = con.execute("select count(*), count(distinct external_id) from responses").fetchone()
        answers = con.execute("select count(*) from answers").fetchone()[0]
    return int(n), int(distinct), int(answers)


def _warehouse_counts(path: Path) -> tuple[int, int, int]:
    """(responses, distinct response ids, answers) in the warehouse replica."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        n, distinct = con.execute("select count(*), count(distinct external_id) from responses").fetchone()
        return int(n), int(distinct), int(con.execute("select count(*) from answers").fetchone()[0])
    finally:
        con.close()


def write_file(n: int, target: Path) -> Path:
    import yaml

    doc = yaml.safe_load(BANK.read_text())
    tps = [t["key"] for j in doc["journeys"] for s in j["stages"] for t in s["touchpoints"]]
    table = make_responses(n, tps)
    table = table.append_column("csat", pa.array(np.random.default_rng(5).integers(1, 6, n)))  # two answers each
    pacsv.write_csv(table, target)
    return target


def _calibrate(env: dict[str, str], workdir: Path, m: int) -> tuple[float, float]:
    """(start-up seconds, seconds per row) of `momenti import responses` here, from two clean imports."""
    times = []
    for rows in (1000, m):
        probe_env = {**env, "MOMENTI_DATA_DIR": str(workdir / f"probe-{rows}")}
        _apply_journey(probe_env)
        csv = write_file(rows, workdir / f"probe-{rows}.csv")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "momenti.cli.main", "import", "responses", str(csv)], env=probe_env,
                       check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    per_row = max(times[1] - times[0], 0.0) / (m - 1000)
    return times[0], per_row


def crash_run(n: int, kills: int, workdir: Path, seed: int = 7, chunk_rows: int | None = None) -> dict[str, Any]:
    """Import an n-row file, killing the command (SIGKILL to its process group) `kills` times at random moments,
    then once to the end; returns what was measured."""
    rng = random.Random(seed)
    data = workdir / "data"
    env = {**os.environ, "MOMENTI_DATA_DIR": str(data), "PYTHONPATH": str(ROOT / "src")}
    if chunk_rows:
        env["MOMENTI_IMPORT_CHUNK_ROWS"] = str(chunk_rows)
    _apply_journey(env)
    csv = write_file(n, workdir / "responses.csv")
    # The command's length on this machine, from clean runs elsewhere of 1,000 rows (mostly start-up) and of a
    # tenth of the file: kills then land anywhere from the start-up to the warehouse sync of what is left.
    startup_s, per_row_s = _calibrate(env, workdir, max(n // 10, 2000))
    landed = []
    stored = 0
    for _ in range(kills):
        proc = _momenti(env, "import", "responses", str(csv))
        delay = rng.uniform(0.05, 0.95) * (startup_s + per_row_s * (n - stored))
        try:
            proc.wait(timeout=delay)
            landed.append({"after_s": round(delay, 2), "finished_first": True})
            break  # the whole file is in: a later kill would only hit an import with nothing to add
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stored = _store_counts(data / "momenti.db")[0] if (data / "momenti.db").exists() else 0
        landed.append({"after_s": round(delay, 2), "stored_rows": stored, "finished_first": False})
    t0 = time.perf_counter()
    final = _momenti(env, "import", "responses", str(csv))
    out, _ = final.communicate()
    rerun_s = time.perf_counter() - t0
    rows, distinct, answers = _store_counts(data / "momenti.db")
    wh_rows, wh_distinct, wh_answers = _warehouse_counts(data / "warehouse.duckdb")
    return {"rows": n, "kills": landed, "rerun_exit": final.returncode, "rerun_output": out.strip()[-400:],
            "rerun_s": rerun_s, "store_rows": rows, "store_distinct": distinct, "store_answers": answers,
            "warehouse_rows": wh_rows, "warehouse_distinct": wh_distinct, "warehouse_answers": wh_answers,
            "lost": n - distinct, "duplicated": rows - distinct}


def check(result: dict[str, Any]) -> list[str]:
    """What went wrong, as sentences (empty: nothing)."""
    n = result["rows"]
    problems = []
    if result["rerun_exit"] != 0:
        problems.append(f"the re-run failed ({result['rerun_exit']}): {result['rerun_output']}")
    if result["lost"] or result["duplicated"]:
        problems.append(f"{result['lost']} rows lost, {result['duplicated']} duplicated")
    if result["store_answers"] != 2 * n:
        problems.append(f"{result['store_answers']} answers in the store, expected {2 * n}")
    if (result["warehouse_rows"], result["warehouse_distinct"], result["warehouse_answers"]) != (n, n, 2 * n):
        problems.append(f"warehouse {result['warehouse_rows']} rows / {result['warehouse_answers']} answers, "
                        f"store {n} / {2 * n}")
    return problems


def main() -> int:
    n = int(os.environ.get("BENCH_N", 1_000_000))
    kills = int(os.environ.get("BENCH_KILLS", 4))
    with tempfile.TemporaryDirectory() as tmp:
        result = crash_run(n, kills, Path(tmp), seed=int(os.environ.get("BENCH_SEED", 7)))
    for i, k in enumerate(result["kills"], 1):
        where = "finished before the kill" if k["finished_first"] else f"{k['stored_rows']:,} rows in the store"
        print(f"kill {i}: after {k['after_s']:.1f} s, {where}")
    last_line = result["rerun_output"].splitlines()[-1] if result["rerun_output"] else ""
    print(f"re-run: {result['rerun_s']:.1f} s, {last_line}")
    print(f"{n:,} rows: store {result['store_rows']:,} ({result['store_distinct']:,} distinct), "
          f"{result['store_answers']:,} answers; warehouse {result['warehouse_rows']:,} rows, "
          f"{result['warehouse_answers']:,} answers; lost {result['lost']}, duplicated {result['duplicated']}")
    problems = check(result)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
