"""momenti's process mining against pm4py (the peer) on pm4py's own example logs and on a generated log:
identical DFG pair counts, activity counts, start/end activities and variant counts; performance-DFG means
within 1 ms. pm4py is AGPL: only imported here and in bench/, installed from bench/requirements-peers.txt.

Ties: momenti orders events with equal timestamps by event id. pm4py keeps the order of its input (a stable
sort by timestamp), so it is given the events in event-id order as read back from the warehouse; for the
running example, which has no ties, pm4py reads the XES file itself."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import momenti

pm4py = pytest.importorskip("pm4py", reason="pm4py (AGPL peer) is not installed: pip install -r "
                                            "bench/requirements-peers.txt to compare against it")
warnings.filterwarnings("ignore", module="pm4py")

CASE, ACT, TS = "case:concept:name", "concept:name", "time:timestamp"


def warehouse_log(ws: momenti.Workspace) -> pd.DataFrame:
    """The events as the warehouse holds them, in event-id order, in pm4py's column names."""
    with ws.warehouse() as wh:
        ev = wh.table("events").order_by("id").select("case_id", "activity", "timestamp").to_pandas()
    ev = ev.rename(columns={"case_id": CASE, "activity": ACT, "timestamp": TS})
    return pm4py.format_dataframe(ev, case_id=CASE, activity_key=ACT, timestamp_key=TS)


def assert_same(ws: momenti.Workspace, log: pd.DataFrame, **selection: object) -> None:
    dfg, start, end = pm4py.discover_dfg(log)
    mine = ws.dfg(**selection)
    assert {(r.source, r.target): int(r.count) for r in mine.itertuples()} == dict(dfg)
    as_dict = lambda df: dict(zip(df["activity"], df["count"].astype(int), strict=True))  # noqa: E731
    assert as_dict(ws.start_activities(**selection)) == dict(start) == dict(pm4py.get_start_activities(log))
    assert as_dict(ws.end_activities(**selection)) == dict(end) == dict(pm4py.get_end_activities(log))
    assert as_dict(ws.activities(**selection)) == dict(pm4py.get_event_attribute_values(log, ACT))
    v = ws.variants(**selection)
    assert {tuple(x): int(n) for x, n in zip(v.variant, v["count"], strict=True)} == dict(pm4py.get_variants(log))
    perf, _, _ = pm4py.discover_performance_dfg(log)
    got = mine.set_index(["source", "target"])
    assert set(got.index) == set(perf)
    for pair, p in perf.items():
        assert abs(got.loc[pair, "mean_s"] - p["mean"]) < 1e-3, pair
        assert abs(got.loc[pair, "median_s"] - p["median"]) < 1e-3, pair


@pytest.mark.parametrize("name", ["running-example", "roadtraffic100traces"])
def test_example_logs_xes(workspace: momenti.Workspace, shared_data: Path, name: str) -> None:
    path = shared_data / f"{name}.xes"
    assert workspace.import_file("events", path).rejected == 0
    assert_same(workspace, warehouse_log(workspace))
    if name == "running-example":  # no ties: pm4py reading the file itself agrees too
        assert_same(workspace, pm4py.read_xes(str(path)))


@pytest.mark.parametrize("name", ["running-example", "roadtraffic100traces"])
def test_example_logs_csv(workspace: momenti.Workspace, shared_data: Path, name: str) -> None:
    df = pd.read_csv(shared_data / f"{name}.csv", dtype=str)
    table = pa.table({"case_id": df[CASE], "customer_id": df[CASE], "activity": df[ACT], "timestamp": df[TS]})
    assert workspace.import_table("events", table).rejected == 0
    log = warehouse_log(workspace)
    assert len(log) == len(df)
    assert_same(workspace, log)


def test_bounded_journeys_match_filter_between(workspace: momenti.Workspace, shared_data: Path) -> None:
    workspace.import_file("events", shared_data / "running-example.xes")
    log = warehouse_log(workspace)
    for a, b in (("register request", "decide"), ("examine casually", "pay compensation"),
                 ("check ticket", "reinitiate request")):
        sub = pm4py.filter_between(log, a, b)
        v = workspace.variants(start_activity=a, end_activity=b)
        assert {tuple(x): int(n) for x, n in zip(v.variant, v["count"], strict=True)} == dict(
            pm4py.get_variants(sub)), (a, b)
        d = workspace.dfg(start_activity=a, end_activity=b)
        assert {(r.source, r.target): int(r.count) for r in d.itertuples()} == dict(pm4py.discover_dfg(sub)[0])


def test_generated_log(tmp_path: Path) -> None:
    """A generated log with interleaved cases and ~3 % tied timestamps, imported through the store."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from process import generate_log  # bench/process.py: the benchmark's generator

    log = generate_log(30_000, seed=11)
    # event ids in arrival order, so that pm4py (given the same order) breaks ties the same way
    ids = pa.array([f"E{i:07d}" for i in range(log.num_rows)])
    ws = momenti.open(tmp_path / "data")
    s = ws.import_table("events", log.append_column("event_id", ids))
    assert (s.added, s.rejected) == (log.num_rows, 0)
    df = log.to_pandas().rename(columns={"case_id": CASE, "activity": ACT, "timestamp": TS})
    df = pm4py.format_dataframe(df, case_id=CASE, activity_key=ACT, timestamp_key=TS)
    assert_same(ws, df)
    # the per-customer notion equals pm4py's with the customer as the case id
    by_customer = df.drop(columns=[CASE]).rename(columns={"customer_id": CASE})
    by_customer = pm4py.format_dataframe(by_customer, case_id=CASE, activity_key=ACT, timestamp_key=TS)
    assert_same(ws, by_customer, case="customer")
    ws.close()
