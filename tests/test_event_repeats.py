"""Imports keep a real event log as it is: identical rows are genuine repeats (an XES log has no event ids)
and events with the same timestamp keep the order of the file. Checked against pm4py reading the same file
itself, on XES and on CSV, SQLite and PostgreSQL stores; importing the file again adds nothing, and an export
that overlaps an earlier one adds only what is new."""

from __future__ import annotations

import datetime as dt
import random
import warnings
from pathlib import Path

import pandas as pd
import pytest

import momenti
from conftest import make_workspace
from momenti.cli.imports import summary_line

pm4py = pytest.importorskip("pm4py", reason="pm4py (AGPL peer) is not installed: pip install -r "
                                            "bench/requirements-peers.txt to compare against it")
warnings.filterwarnings("ignore", module="pm4py")

CASE, ACT, TS, RES = "case:concept:name", "concept:name", "time:timestamp", "org:resource"
ACTIVITIES = ["open ticket", "assign", "call customer", "wait", "reply", "resolve", "close"]


def _log(seed: int = 7, cases: int = 60) -> list[dict[str, str]]:
    """Events in file order: per case a walk over ACTIVITIES, with identical repeated events (same case,
    activity, timestamp, resource) and ties (different activities at the same second)."""
    rng = random.Random(seed)
    rows = []
    t0 = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
    for c in range(cases):
        t = t0 + dt.timedelta(hours=c)
        for _ in range(rng.randint(2, 7)):
            act = rng.choice(ACTIVITIES)
            row = {CASE: f"T{c:03d}", ACT: act, TS: t.strftime("%Y-%m-%dT%H:%M:%S+00:00"), RES: rng.choice("AB")}
            rows.append(row)
            roll = rng.random()
            if roll < 0.25:
                rows.append(dict(row))  # the same event again: a genuine repeat
            elif roll < 0.5:
                rows.append({**row, ACT: rng.choice([a for a in ACTIVITIES if a != act])})  # a tie
            t += dt.timedelta(minutes=rng.randint(1, 90))
    return rows


def _write_xes(path: Path, rows: list[dict[str, str]]) -> None:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<log xes.version="1.0">']
    case = None
    for r in rows:
        if r[CASE] != case:
            if case is not None:
                out.append("  </trace>")
            case = r[CASE]
            out += ["  <trace>", f'    <string key="concept:name" value="{case}"/>']
        out += ["    <event>", f'      <string key="concept:name" value="{r[ACT]}"/>',
                f'      <date key="time:timestamp" value="{r[TS]}"/>',
                f'      <string key="org:resource" value="{r[RES]}"/>', "    </event>"]
    out += ["  </trace>", "</log>", ""]
    path.write_text("\n".join(out), encoding="utf-8")


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    pd.DataFrame(rows).rename(columns={CASE: "case_id", ACT: "activity", TS: "timestamp", RES: "agent"}).assign(
        customer_id=lambda d: d.case_id).to_csv(path, index=False)


def _assert_same_as_pm4py(ws: momenti.Workspace, log: pd.DataFrame) -> None:
    dfg, start, end = pm4py.discover_dfg(log)
    mine = ws.dfg()
    assert {(r.source, r.target): int(r.count) for r in mine.itertuples()} == dict(dfg)
    as_dict = lambda df: dict(zip(df["activity"], df["count"].astype(int), strict=True))  # noqa: E731
    assert as_dict(ws.start_activities()) == dict(start)
    assert as_dict(ws.end_activities()) == dict(end)
    assert as_dict(ws.activities()) == dict(pm4py.get_event_attribute_values(log, ACT))
    v = ws.variants()
    assert {tuple(x): int(n) for x, n in zip(v.variant, v["count"], strict=True)} == dict(pm4py.get_variants(log))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("fmt", ["xes", "csv"])
def test_repeats_and_ties_equal_pm4py(tmp_path: Path, request: pytest.FixtureRequest, backend: str,
                                      fmt: str) -> None:
    rows = _log()
    repeats = sum(1 for a, b in zip(rows, rows[1:], strict=False) if a == b)
    assert repeats > 5 and len({(r[CASE], r[TS]) for r in rows}) < len(rows) - repeats  # repeats and ties exist
    path = tmp_path / f"log.{fmt}"
    if fmt == "xes":
        _write_xes(path, rows)
        log = pm4py.read_xes(str(path))
    else:
        _write_csv(path, rows)
        raw = pd.read_csv(path, dtype=str).rename(columns={"case_id": CASE, "activity": ACT, "timestamp": TS})
        raw[TS] = pd.to_datetime(raw[TS], utc=True)
        log = pm4py.format_dataframe(raw, case_id=CASE, activity_key=ACT, timestamp_key=TS)
    assert len(log) == len(rows)
    ws = make_workspace(tmp_path, backend, request)
    try:
        s = ws.import_file("events", path)
        assert (s.read, s.added, s.duplicates, s.rejected, s.repeats) == (len(rows), len(rows), 0, 0, repeats)
        assert f"{len(rows):,} rows read, {len(rows):,} added ({repeats} identical rows kept as repeats), " \
               "0 already present, 0 rejected" in summary_line(s)
        _assert_same_as_pm4py(ws, log)
        again = ws.import_file("events", path)
        assert (again.added, again.duplicates) == (0, len(rows))
        _assert_same_as_pm4py(ws, log)
    finally:
        ws.close()


def test_overlapping_export_adds_only_the_new_repeat(workspace: momenti.Workspace, tmp_path: Path) -> None:
    event = "case_id,customer_id,timestamp,activity,agent\nK1,C1,2026-03-01T10:00:00Z,call,A\n"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(event + event.split("\n", 1)[1])  # the same call twice
    second.write_text(event + event.split("\n", 1)[1] * 2 + "K1,C1,2026-03-01T10:05:00Z,reply,A\n")
    assert workspace.import_file("events", first).added == 2
    s = workspace.import_file("events", second)  # the export of a later day: one more repeat, one new event
    assert (s.added, s.duplicates, s.repeats) == (2, 2, 2)
    assert int(workspace.activities().set_index("activity")["count"]["call"]) == 3


def test_rest_batch_keeps_repeats_and_retry_adds_nothing(workspace: momenti.Workspace) -> None:
    from api_helpers import make_api

    event = {"case_id": "K9", "customer_id": "C9", "timestamp": "2026-03-01T10:00:00Z", "activity": "call",
             "agent": "A"}
    batch = [event, event, {**event, "activity": "reply"}]
    for api in make_api(workspace):
        r = api.client.post("/api/v1/events", json=batch, headers=api.auth)
        assert r.status_code in (200, 201), r.text
        assert (r.json()["added"], r.json()["duplicates"]) == (3, 0)
        r = api.client.post("/api/v1/events", json=batch, headers=api.auth)  # a client's retry
        assert (r.json()["added"], r.json()["duplicates"]) == (0, 3)
    workspace.sync()
    got = workspace.activities().set_index("activity")["count"].to_dict()
    assert {k: int(v) for k, v in got.items()} == {"call": 2, "reply": 1}
