"""Repeat contacts / FCR by reason on N contact events: momenti (warehouse) vs pandas, same run.

    python bench/contact.py                      # 10 M contact events
    BENCH_EVENTS=1000000 python bench/contact.py # a quick run

The log is generated: customers, contact cases of 1-7 events (every event carries the case's reason, as a
contact-centre export does), and planted same-reason follow-ups within 0-6 days (35 % for one reason, 7 % for
the others). The events are appended straight to the warehouse replica (the store import is benchmarked in
bench/ingest.py; here the question is what is timed). Both sides answer the same question - contacts = cases
with a reason timed at their first event, repeated when the customer's next same-reason contact starts within
7 days, contacts younger than 7 days before the log's end censored - and must agree exactly on n, repeats and
censored per reason.

momenti's time is the whole `ws.fcr(by="reason")` call (opening the warehouse, the query, intervals, the
DataFrame), read from the materialised contact facts; the first call builds those facts (printed apart), and the
same question computed from raw events without them is printed for reference. pandas starts from a DataFrame
already in memory.
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
import pyarrow.compute as pc

import momenti
from momenti.insights.contact.kpis import CONTACT_DIMENSIONS, ContactQuery
from momenti.insights.contact.kpis import fcr as contact_fcr

N = int(os.environ.get("BENCH_EVENTS", 10_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
DAYS = 7
REASONS = np.array(["carta bloccata", "commissioni", "versamento", "bonifico non arrivato", "password dimenticata",
                    "aggiornamento dati", "informazioni prodotto", "addebito non riconosciuto", "estratto conto",
                    "informazioni mutuo", "rimborso", "consulenza investimenti"])
CHANNELS = np.array(["phone", "chat", "branch", "email", "app"])
ACTIVITIES = np.array(["chiamata contact center", "attesa in coda", "conversazione operatore", "trasferimento",
                       "richiamata operatore", "chiusura chiamata", "nota interna"])


def make_contacts(n_events: int, seed: int = 7) -> pa.Table:
    """About n_events contact events in the warehouse's `events` layout (ids in time order per case)."""
    rng = np.random.default_rng(seed)
    n_cases = max(n_events // 4, 1)
    n_customers = max(n_cases // 8, 1)
    base = int(n_cases / 1.09)
    customer = rng.integers(0, n_customers, base)
    reason = rng.integers(0, len(REASONS), base)
    start = rng.integers(0, 365 * 86400, base)
    # Planted follow-ups (and follow-ups of follow-ups): same customer and reason, 0-6 days later.
    cust, rsn, ts = [customer], [reason], [start]
    parent_c, parent_r, parent_t = customer, reason, start
    for _ in range(3):
        p = np.where(parent_r == 0, 0.35, 0.07)
        keep = rng.random(len(parent_c)) < p
        parent_c, parent_r = parent_c[keep], parent_r[keep]
        parent_t = parent_t[keep] + rng.integers(0, 7 * 86400, keep.sum())
        cust.append(parent_c), rsn.append(parent_r), ts.append(parent_t)
    customer, reason, start = np.concatenate(cust), np.concatenate(rsn), np.concatenate(ts)
    n_cases = len(customer)
    size = rng.integers(1, 8, n_cases)  # events per case, mean 4
    case = np.repeat(np.arange(n_cases), size)
    step = np.arange(len(case)) - np.repeat(np.cumsum(size) - size, size)
    # Seconds since the case's first event: a running sum of gaps restarted at each case.
    gaps = rng.integers(1, 600, len(case))
    gaps[step == 0] = 0
    csum = np.cumsum(gaps)
    offset = csum - np.repeat(csum[np.cumsum(size) - size], size)
    t0 = np.datetime64("2025-01-01T00:00:00", "s")
    timestamp = (t0 + (np.repeat(start, size) + offset).astype("timedelta64[s]")).astype("datetime64[us]")
    n = len(case)
    order = np.lexsort((step, timestamp))  # event ids in time order, as an import of a log would give
    ids = np.empty(n, dtype=np.int64)
    ids[order] = np.arange(1, n + 1)

    def labels(prefix: str, values: np.ndarray) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pa.array(values).cast(pa.string()), "")

    channel = np.repeat(rng.integers(0, len(CHANNELS), n_cases), size)
    timed = rng.random(n) < 0.6
    return pa.table({
        "id": pa.array(ids),
        "external_id": labels("E", ids),
        "customer_id": labels("C", customer[case]),
        "case_id": labels("CS", case),
        "timestamp": pa.array(timestamp),
        "activity": pa.array(ACTIVITIES[np.minimum(step, len(ACTIVITIES) - 1)]),
        "touchpoint": pa.nulls(n, pa.string()),
        "channel": pa.array(CHANNELS[channel]),
        "reason": pa.array(REASONS[reason[case]]),
        "duration_s": pa.array(np.where(timed, rng.gamma(2.0, 150.0, n), np.nan), from_pandas=True),
        "agent": labels("AG", rng.integers(1, 200, n)),
        "outcome": pa.nulls(n, pa.string()),
        "attributes": pa.nulls(n, pa.string()),
    })


def pandas_fcr(events: pd.DataFrame, days: int = DAYS) -> pd.DataFrame:
    """The straightforward pandas answer: contacts per case, sort, next same-reason contact, censor, count."""
    end = events["timestamp"].max()
    ev = events[events["reason"].notna() & events["customer_id"].notna()]
    c = ev.groupby(["customer_id", "case_id", "reason"], as_index=False, sort=False, observed=True).agg(
        ts=("timestamp", "min"), first_id=("id", "min"))
    c = c.sort_values(["customer_id", "reason", "ts", "first_id"])
    nxt = c.groupby(["customer_id", "reason"], sort=False, observed=True)["ts"].shift(-1)
    c["repeated"] = (nxt - c["ts"]) <= pd.Timedelta(days=days)
    c["eligible"] = c["ts"] <= end - pd.Timedelta(days=days)
    c["rep"] = c["repeated"] & c["eligible"]
    out = c.groupby("reason", observed=True).agg(n=("eligible", "sum"), repeats=("rep", "sum"),
                                                 total=("eligible", "size")).reset_index()
    out["censored"] = out["total"] - out["n"]
    out["fcr"] = 100.0 * (1 - out["repeats"] / out["n"])
    return out.drop(columns="total").sort_values("reason").reset_index(drop=True)


def timed(fn, repeat: int) -> tuple[list[float], object]:  # noqa: ANN001
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def main() -> int:
    t0 = time.perf_counter()
    table = make_contacts(N)
    n_events = table.num_rows
    print(f"setup: generated {n_events:,} contact events in {time.perf_counter() - t0:.1f}s")
    with tempfile.TemporaryDirectory() as tmp:
        ws = momenti.open(Path(tmp) / "data")
        t0 = time.perf_counter()
        with ws.warehouse() as wh:
            wh.insert("events", table)
            wh.sql("CHECKPOINT")
        print(f"setup: appended them to the DuckDB warehouse in {time.perf_counter() - t0:.1f}s")
        frame = table.select(["id", "customer_id", "case_id", "timestamp", "reason"]).to_pandas()
        del table

        # First call: materialises the contact facts (what a warehouse sync would otherwise do); then warm calls.
        cold, ours = timed(lambda: ws.fcr(days=DAYS, by="reason"), 1)
        m_times, ours = timed(lambda: ws.fcr(days=DAYS, by="reason"), REPEAT)
        q = ContactQuery.build(CONTACT_DIMENSIONS, by="reason", days=DAYS)
        with ws.warehouse() as wh:  # the same question straight from raw events (no facts), for reference
            raw_times, raw = timed(lambda: contact_fcr(wh, q, source="raw"), 1)
        p_times, theirs = timed(lambda: pandas_fcr(frame), 1)
        ws.close()
    pd.testing.assert_frame_equal(ours, raw)

    a = ours[["reason", "n", "repeats", "censored"]].reset_index(drop=True)
    b = theirs[["reason", "n", "repeats", "censored"]].astype({"n": "int64", "repeats": "int64",
                                                                "censored": "int64"})
    a["reason"], b["reason"] = a["reason"].astype(str), b["reason"].astype(str)
    agree = a.equals(b)
    m = statistics.median(m_times)
    p = p_times[0]
    print(f"\nFCR / repeat contacts by reason, {days_label()}, {n_events:,} events, "
          f"{int(ours['n'].sum() + ours['censored'].sum()):,} contacts")
    print(f"  momenti ws.fcr(by='reason')      : {m * 1000:,.0f} ms (median of {REPEAT}; runs: "
          f"{', '.join(f'{t * 1000:,.0f}' for t in m_times)} ms)")
    print(f"  momenti first call (builds facts) : {cold[0] * 1000:,.0f} ms")
    print(f"  momenti from raw events, no facts: {raw_times[0] * 1000:,.0f} ms")
    print(f"  pandas (in memory)               : {p * 1000:,.0f} ms")
    print(f"  ratio pandas / momenti           : {p / m:.1f}x (first call {p / cold[0]:.1f}x, "
          f"raw {p / raw_times[0]:.1f}x)")
    print(f"  results agree (n, repeats, censored per reason): {agree}")
    print(ours[["reason", "n", "repeats", "fcr", "ci_low", "ci_high", "censored"]].to_string(index=False))
    if not agree:
        print(pd.concat({"momenti": a.set_index("reason"), "pandas": b.set_index("reason")}, axis=1))
        return 1
    return 0


def days_label() -> str:
    return f"{DAYS}-day window"


if __name__ == "__main__":
    sys.exit(main())
