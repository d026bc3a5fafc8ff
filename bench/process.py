"""Process mining: momenti vs pm4py on the same generated event log, in one run.

    .venv/bin/python bench/process.py                      # 1 M and 10 M events
    MOMENTI_BENCH_PROCESS_SIZES=1000000 .venv/bin/python bench/process.py
    MOMENTI_BENCH_PM4PY_MAX=2000000 ...                    # run pm4py only up to this size (default 10 M)
    MOMENTI_BENCH_PROCESS_SIZES=100000000 ...              # above MOMENTI_BENCH_PROCESS_CHUNK (10 M): the log
                                                           # is generated in chunks, momenti only

The question timed is the one a process map needs: DFG (frequency and performance: mean, median, p90),
variants (count, share, median duration), start and end activities. momenti answers it from the warehouse
(DuckDB) with the journey facts materialised at sync; the time of that materialisation (a one-off per new
events) is printed beside it. momenti is timed twice: each call opening the warehouse file (~10 ms of DuckDB
start-up) and inside `ws.hold_warehouse()`, an analysis session that opens it once, which is the like of pm4py
being handed its DataFrame already in memory; the headline ratio is the latter, the other is printed beside it.
pm4py (the peer; AGPL, installed from bench/requirements-peers.txt) gets the
same events as a pandas DataFrame already in memory, in event-id order, already formatted
(`pm4py.format_dataframe`, timed separately), and runs discover_dfg + get_variants + get_start_activities +
get_end_activities; its performance DFG (`discover_performance_dfg`) is timed on its own.

The events are written straight into the warehouse's `events` table (the store is not involved: import speed
is bench/ingest.py's business). Both sides are checked to give identical counts before any time is printed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import momenti  # noqa: E402
from momenti.insights.paths import facts as journey_facts  # noqa: E402

ACTIVITIES = [f"step {i:02d}" for i in range(24)]


def generate_log(n_events: int, seed: int = 7, events_per_case: float = 8.0, case_offset: int = 0) -> pa.Table:
    """A random event log: cases follow a Markov chain over 24 activities (so there are a few frequent
    variants and a long tail), inter-event gaps lognormal in whole seconds with ~3 % zero gaps (ties), events
    in random order across cases (as a real log arrives). `case_offset` numbers the cases of a later chunk
    after those of the earlier ones (see `generate_chunks`)."""
    rng = np.random.default_rng(seed)
    n_cases = max(1, int(n_events / events_per_case))
    lengths = np.maximum(1, rng.poisson(events_per_case - 1, n_cases) + 1)
    lengths[-1] += n_events - lengths.sum() if lengths.sum() < n_events else 0
    while lengths.sum() > n_events:  # trim to exactly n_events
        over = lengths.sum() - n_events
        i = np.nonzero(lengths > 1)[0][: over]
        lengths[i] -= 1
    case = np.repeat(np.arange(n_cases), lengths)
    pos = np.arange(n_events) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    k = len(ACTIVITIES)
    # Markov chain: each activity prefers its next one (80 %), else a random one.
    nxt = (np.arange(k) + 1) % k
    first = rng.choice(4, n_cases, p=[0.6, 0.25, 0.1, 0.05])
    act = np.empty(n_events, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    act[starts] = first[np.arange(n_cases)]
    jump = rng.random(n_events) < 0.2
    rand = rng.integers(0, k, n_events)
    for p in range(1, int(lengths.max())):  # vectorised over cases, one step at a time
        idx = np.nonzero(pos == p)[0]
        prev = act[idx - 1]
        act[idx] = np.where(jump[idx], rand[idx], nxt[prev])
    gaps = np.round(rng.lognormal(6.0, 1.5, n_events)).astype(np.int64)
    gaps[rng.random(n_events) < 0.03] = 0
    gaps[starts] = rng.integers(0, 2 * 365 * 86400, n_cases)
    secs = np.cumsum(gaps)
    secs -= np.repeat(secs[starts] - gaps[starts], lengths)
    ts = (np.datetime64("2024-01-01T00:00:00", "us") + secs.astype("timedelta64[s]")).astype("datetime64[us]")
    order = rng.permutation(n_events)  # arrival order: interleaved cases
    case = case + case_offset
    names = np.array(ACTIVITIES, dtype=object)
    return pa.table({
        "case_id": pa.array(np.char.add("C", case[order].astype(str)).astype(object)),
        "customer_id": pa.array(np.char.add("K", (case[order] // 3).astype(str)).astype(object)),
        "activity": pa.array(names[act[order]]),
        "timestamp": pa.array(ts[order], pa.timestamp("us")),
    })


def generate_chunks(n_events: int, chunk: int):  # noqa: ANN201
    """The log of `n_events` as a sequence of tables of at most `chunk` events, each chunk its own cases
    (numbered after the previous chunk's) and its own seed: a 100 M-event log as one Arrow table of Python
    strings would need ~15 GB, while chunks of 10 M stay near 1.5 GB. Arrival order interleaves cases within a
    chunk, not across chunks (as a log exported month by month). Yields (chunk, its number of cases)."""
    done, cases, seed = 0, 0, 7
    while done < n_events:
        part = generate_log(min(chunk, n_events - done), seed=seed, case_offset=cases)
        n_cases = int(pa.compute.count_distinct(part["case_id"]).as_py())
        cases += n_cases
        done += part.num_rows
        seed += 1
        yield part, n_cases


def events_rows(log: pa.Table, first_id: int = 1) -> pa.Table:
    """The warehouse `events` columns for a generated log, ids in arrival order from `first_id`."""
    n = log.num_rows
    return pa.table({
        "id": pa.array(np.arange(first_id, first_id + n)), "external_id": pa.nulls(n, pa.string()),
        "customer_id": log["customer_id"], "case_id": log["case_id"], "timestamp": log["timestamp"],
        "activity": log["activity"], "touchpoint": pa.nulls(n, pa.string()), "channel": pa.nulls(n, pa.string()),
        "reason": pa.nulls(n, pa.string()), "duration_s": pa.nulls(n, pa.float64()),
        "agent": pa.nulls(n, pa.string()), "outcome": pa.nulls(n, pa.string()),
        "attributes": pa.nulls(n, pa.string()),
    })


def load_warehouse(ws: momenti.Workspace, log: pa.Table) -> float:
    """Events into the warehouse `events` table (ids in arrival order); returns the materialisation time."""
    with ws.warehouse() as wh:
        wh.insert("events", events_rows(log))
        started = time.perf_counter()
        journey_facts.refresh(wh)
        return time.perf_counter() - started


def momenti_map(ws: momenti.Workspace, performance: bool = True) -> dict:
    """One warehouse visit: DFG, activities, start/end activities and variants."""
    return ws.journey_map(performance=performance)


def pm4py_map(pm4py, df: pd.DataFrame) -> dict:  # noqa: ANN001
    dfg, start, end = pm4py.discover_dfg(df)
    return {"dfg": dfg, "start": start, "end": end, "variants": pm4py.get_variants(df),
            "start2": pm4py.get_start_activities(df), "end2": pm4py.get_end_activities(df)}


def best_of(fn, repeat: int) -> tuple[float, object]:  # noqa: ANN001
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


def check(mine: dict, theirs: dict) -> None:
    d = mine["dfg"]
    assert dict(zip(zip(d.source, d.target, strict=True), d["count"], strict=True)) == dict(theirs["dfg"])
    assert dict(zip(mine["start"].activity, mine["start"]["count"], strict=True)) == dict(theirs["start2"])
    assert dict(zip(mine["end"].activity, mine["end"]["count"], strict=True)) == dict(theirs["end2"])
    v = mine["variants"]
    assert dict(zip(map(tuple, v.variant), v["count"], strict=True)) == dict(theirs["variants"])


def run(n: int, pm4py_max: int) -> None:
    log = generate_log(n)
    print(f"\n{n:,} events, {pa.compute.count_distinct(log['case_id']).as_py():,} cases")
    with tempfile.TemporaryDirectory() as tmp:
        ws = momenti.open(Path(tmp) / "data")
        mat = load_warehouse(ws, log)
        first, _ = best_of(lambda: momenti_map(ws), 1)
        t_open, mine = best_of(lambda: momenti_map(ws), 3)
        t_sep, _ = best_of(lambda: (ws.dfg(), ws.variants(), ws.start_activities(), ws.end_activities()), 3)
        with ws.hold_warehouse():  # an analysis session: the warehouse opened once, like pm4py's DataFrame
            t_mom, held = best_of(lambda: momenti_map(ws), 3)
            t_freq, _ = best_of(lambda: momenti_map(ws, performance=False), 3)
        for key in mine:
            pd.testing.assert_frame_equal(mine[key], held[key])
        print(f"  momenti materialise journey facts (at sync, once): {mat:8.3f} s")
        print(f"  momenti DFG+perf + variants + start/end (first call, opens the warehouse): {first:8.3f} s")
        print(f"  momenti the same, each call opening the warehouse (best of 3)            : {t_open:8.3f} s")
        print(f"  momenti the same as 4 separate calls, each opening it (best of 3)        : {t_sep:8.3f} s")
        print(f"  momenti the same, warehouse held open (ws.hold_warehouse, best of 3)     : {t_mom:8.3f} s")
        print(f"  momenti DFG (freq) + variants + start/end, held open (best of 3)         : {t_freq:8.3f} s")
        ws.close()
    if n > pm4py_max:
        print(f"  pm4py: skipped above {pm4py_max:,} events (MOMENTI_BENCH_PM4PY_MAX)")
        return
    warnings.filterwarnings("ignore")
    import pm4py

    df = log.to_pandas().rename(columns={"case_id": "case:concept:name", "activity": "concept:name",
                                         "timestamp": "time:timestamp"})
    t_fmt, df = best_of(lambda: pm4py.format_dataframe(df, case_id="case:concept:name",
                                                       activity_key="concept:name",
                                                       timestamp_key="time:timestamp"), 1)
    repeat = 3 if n <= 2_000_000 else 1  # pm4py takes ~20 s a run at 10 M
    t_pm, theirs = best_of(lambda: pm4py_map(pm4py, df), repeat)
    t_perf, _ = best_of(lambda: pm4py.discover_performance_dfg(df), repeat)
    check(mine, theirs)
    print(f"  pm4py format_dataframe (not counted)               : {t_fmt:8.3f} s")
    print(f"  pm4py DFG + variants + start/end (best of {repeat})        : {t_pm:8.3f} s")
    print(f"  pm4py performance DFG (best of {repeat})                   : {t_perf:8.3f} s")
    print(f"  ratio pm4py (freq only) / momenti (freq+perf), held open     : {t_pm / t_mom:8.1f} x")
    print(f"  ratio pm4py (freq only) / momenti, opening it every call     : {t_pm / t_open:8.1f} x")
    print(f"  ratio pm4py (freq + perf DFG) / momenti (freq+perf), held    : {(t_pm + t_perf) / t_mom:8.1f} x")
    print(f"  ratio pm4py / momenti, both frequency only, held             : {t_pm / t_freq:8.1f} x")
    print("  identical counts: DFG pairs, start/end activities, variants")


def run_chunked(n: int, chunk: int) -> None:
    """Above the chunk size: the log is generated and loaded chunk by chunk, and only momenti is timed
    (pm4py would need the whole log as one DataFrame in memory)."""
    print(f"\n{n:,} events, generated and loaded in chunks of {chunk:,}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("MOMENTI_BENCH_TMP")) as tmp:
        ws = momenti.open(Path(tmp) / "data")
        started, first_id, cases = time.perf_counter(), 1, 0
        with ws.warehouse() as wh:
            for part, n_cases in generate_chunks(n, chunk):
                wh.insert("events", events_rows(part, first_id))
                first_id += part.num_rows
                cases += n_cases
        load = time.perf_counter() - started
        with ws.warehouse() as wh:
            started = time.perf_counter()
            journey_facts.refresh(wh)
            mat = time.perf_counter() - started
        size = sum(f.stat().st_size for f in (Path(tmp) / "data").rglob("*") if f.is_file())
        first, out = best_of(lambda: momenti_map(ws), 1)
        t_open, _ = best_of(lambda: momenti_map(ws), 2)
        with ws.hold_warehouse():
            t_mom, held = best_of(lambda: momenti_map(ws), 2)
            t_freq, _ = best_of(lambda: momenti_map(ws, performance=False), 2)
        assert int(out["start"]["count"].sum()) == cases  # every case starts once
        assert int(out["dfg"]["count"].sum()) == n - cases  # n - cases directly-follows pairs
        print(f"  {cases:,} cases; warehouse directory {size / 1e9:.2f} GB")
        print(f"  generate and load the events into the warehouse (not a momenti figure): {load:8.1f} s")
        print(f"  momenti materialise journey facts (at sync, once): {mat:8.3f} s")
        print(f"  momenti DFG+perf + variants + start/end (first call, opens the warehouse): {first:8.3f} s")
        print(f"  momenti the same, each call opening the warehouse (best of 2)            : {t_open:8.3f} s")
        print(f"  momenti the same, warehouse held open (ws.hold_warehouse, best of 2)     : {t_mom:8.3f} s")
        print(f"  momenti DFG (freq) + variants + start/end, held open (best of 2)         : {t_freq:8.3f} s")
        print("  checked: start counts = cases, DFG pair counts = events - cases")
        ws.close()


def main() -> None:
    sizes = [int(s) for s in os.environ.get("MOMENTI_BENCH_PROCESS_SIZES", "1000000,10000000").split(",") if s]
    pm4py_max = int(os.environ.get("MOMENTI_BENCH_PM4PY_MAX", "10000000"))
    print("process mining: momenti (DuckDB warehouse, journey facts) vs pm4py (pandas), same events")
    chunk = int(os.environ.get("MOMENTI_BENCH_PROCESS_CHUNK", "10000000"))
    for n in sizes:
        if n > chunk:
            run_chunked(n, chunk)
        else:
            run(n, pm4py_max)


if __name__ == "__main__":
    main()
