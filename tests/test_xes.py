"""XES event logs: the streaming reader agrees with pm4py's CSV export of the same logs, imports as events,
reports malformed files by line, and reads logs without the XES namespace."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

import momenti
from momenti.core.errors import InputError
from momenti.ingest.read import detect_format, read_source

LOGS = ["running-example", "roadtraffic100traces"]


def _xes_frame(path: Path) -> pd.DataFrame:
    return read_source(path).table.to_pandas()


@pytest.mark.parametrize("name", LOGS)
def test_xes_matches_csv(shared_data: Path, name: str) -> None:
    xes = _xes_frame(shared_data / f"{name}.xes")
    csv = pd.read_csv(shared_data / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
    assert len(xes) == len(csv)
    assert xes["case_id"].nunique() == csv["case:concept:name"].nunique()
    assert (xes["customer_id"] == xes["case_id"]).all()
    assert sorted(xes["activity"].unique()) == sorted(csv["concept:name"].unique())
    # Same events in the same order: case, activity, instant, resource.
    got = pd.DataFrame({
        "case": xes["case_id"], "activity": xes["activity"],
        "ts": pd.to_datetime(xes["timestamp"], utc=True, format="ISO8601"), "agent": xes["agent"],
    })
    want = pd.DataFrame({
        "case": csv["case:concept:name"], "activity": csv["concept:name"],
        "ts": pd.to_datetime(csv["time:timestamp"], utc=True, format="ISO8601"), "agent": csv["org:resource"],
    })
    key = ["case", "ts", "activity"]
    got = got.sort_values(key, kind="stable").reset_index(drop=True)
    want = want.sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # Zones are kept as written in the file.
    assert xes["timestamp"].str.contains(r"[+-]\d\d:\d\d$").all()
    # _line points at the <event> element.
    lines = (shared_data / f"{name}.xes").read_text(encoding="utf-8").splitlines()
    assert all(lines[n - 1].strip().startswith("<event") for n in xes["_line"])
    assert xes["_line"].is_monotonic_increasing


def test_xes_extra_attributes(shared_data: Path) -> None:
    run = _xes_frame(shared_data / "running-example.xes")
    assert {"Costs", "case:creator"} <= set(run.columns)
    assert (run["case:creator"] == "Fluxicon Nitro").all()
    road = _xes_frame(shared_data / "roadtraffic100traces.xes")
    assert (road["lifecycle"] == "complete").all()
    assert road["amount"].notna().any()


@pytest.mark.parametrize("name", LOGS)
def test_import_xes(workspace: momenti.Workspace, shared_data: Path, name: str) -> None:
    path = shared_data / f"{name}.xes"
    n = read_source(path).table.num_rows
    first = workspace.import_file("events", path)
    assert (first.rejected, first.added) == (0, n), first.errors
    again = workspace.import_file("events", path)
    assert (again.added, again.rejected) == (0, 0), again.errors


BAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <trace>
    <string key="concept:name" value="c1"/>
    <event>
      <string key="concept:name" value="a"/>
    </trace>
</log>
"""


def test_malformed_xes(tmp_path: Path) -> None:
    path = tmp_path / "bad.xes"
    path.write_text(BAD)
    with pytest.raises(InputError, match=rf"{path.name}:7: not well-formed XML") as info:
        read_source(path)
    assert str(path) in str(info.value)


def test_not_a_log(tmp_path: Path) -> None:
    path = tmp_path / "other.xes"
    path.write_text("<?xml version='1.0'?>\n<html><body/></html>\n")
    with pytest.raises(InputError, match="not an XES log"):
        read_source(path)


SMALL = """<?xml version="1.0" encoding="UTF-8"?>
<log>
  <string key="concept:name" value="the log"/>
  <trace>
    <event>
      <string key="concept:name" value="open account"/>
      <date key="time:timestamp" value="2025-01-05T10:00:00Z"/>
    </event>
    <string key="concept:name" value="k1"/>
    <string key="customer_id" value="cust-1"/>
    <int key="priority" value="2"/>
  </trace>
  <trace>
    <string key="concept:name" value="k2"/>
    <event>
      <string key="concept:name" value="call"/>
      <date key="time:timestamp" value="2025-01-06T09:00:00.000+01:00"/>
      <string key="org:resource" value="Ann"/>
      <string key="lifecycle:transition" value="complete"/>
      <float key="cost" value="9.5"/>
      <boolean key="urgent" value="true"/>
      <string key="activity" value="clash"/>
      <list key="items"><string key="x" value="nested"/></list>
    </event>
  </trace>
</log>
"""


@pytest.mark.parametrize("namespace", [False, True])
def test_small_log(tmp_path: Path, workspace: momenti.Workspace, namespace: bool) -> None:
    path = tmp_path / "small.xes"
    path.write_text(SMALL.replace("<log>", '<log xmlns="http://www.xes-standard.org/">') if namespace else SMALL)
    rows = read_source(path).table.to_pylist()
    assert [(r["case_id"], r["customer_id"], r["activity"], r["timestamp"]) for r in rows] == [
        ("k1", "cust-1", "open account", "2025-01-05T10:00:00Z"),
        ("k2", "k2", "call", "2025-01-06T09:00:00.000+01:00"),
    ]
    assert [r["_line"] for r in rows] == [5, 15]
    assert rows[0]["case:priority"] == "2" and rows[1]["case:priority"] is None
    assert (rows[1]["agent"], rows[1]["lifecycle"], rows[1]["cost"], rows[1]["urgent"]) == ("Ann", "complete",
                                                                                           "9.5", "true")
    assert rows[1]["xes:activity"] == "clash" and "x" not in rows[1] and "items" not in rows[1]
    s = workspace.import_file("events", path)
    assert (s.added, s.rejected) == (2, 0), s.errors


def test_gzipped_xes(tmp_path: Path) -> None:
    path = tmp_path / "small.xes.gz"
    path.write_bytes(gzip.compress(SMALL.encode()))
    assert detect_format(path) == "xes"
    assert read_source(path).table.num_rows == 2
