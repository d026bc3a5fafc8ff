"""`momenti journeys ...` and GET /api/v1/journeys/...: the same answers as the Python API, in every format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.cli.main import app as cli
from momenti.core.config import get_settings
from momenti.server.app import create_app
from test_process import LOG


@pytest.fixture
def ws(workspace: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> momenti.Workspace:
    assert workspace.import_records("events", LOG).rejected == 0
    workspace.import_records("customers", [{"customer_id": "c3", "tier": "gold"}])
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    return workspace


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_dfg_formats_and_graph(ws: momenti.Workspace, tmp_path: Path) -> None:
    doc = json.loads(run("journeys", "dfg", "--format", "json"))
    want = ws.dfg()
    assert [(r["source"], r["target"], r["count"]) for r in doc["rows"]] == list(
        zip(want.source, want.target, want["count"], strict=True))
    rows = list(csv.DictReader(io.StringIO(run("journeys", "dfg", "--format", "csv", "--filter", "channel=phone"))))
    assert [(r["source"], r["target"], r["count"]) for r in rows] == [("a", "c", "1")]
    table = run("journeys", "dfg", "--svg", str(tmp_path / "g.svg"), "--dot", str(tmp_path / "g.dot"))
    assert "Directly-follows pairs" in table and "graph written to" in table
    assert (tmp_path / "g.svg").read_bytes().startswith(b"<?xml")
    assert (tmp_path / "g.dot").read_text().startswith("digraph dfg {")


def test_cli_variants_activities_funnel(ws: momenti.Workspace) -> None:
    doc = json.loads(run("journeys", "variants", "--format", "json"))
    assert doc["rows"][0]["variant"] == ["a", "b", "c"] and doc["rows"][0]["count"] == 2
    assert "a → b → c" in run("journeys", "variants", "--format", "csv")
    per_customer = json.loads(run("journeys", "variants", "--case", "customer", "--gap", "12h", "--format",
                                  "json"))
    assert sum(r["count"] for r in per_customer["rows"]) == 5
    starts = json.loads(run("journeys", "activities", "--which", "start", "--format", "json"))["rows"]
    assert {r["activity"]: r["count"] for r in starts} == {"a": 4, "y": 1}
    f = json.loads(run("journeys", "funnel", "a,b,c", "--mode", "directly", "--format", "json"))
    assert [r["n"] for r in f["rows"]] == [4, 3, 2] and f["mode"] == "directly"
    seg = json.loads(run("journeys", "funnel", "a,b", "--by", "segment:tier", "--format", "json"))["rows"]
    assert {r["segment_tier"] for r in seg} == {"gold", None}
    inst = json.loads(run("journeys", "instances", "--format", "json"))["rows"]
    assert len(inst) == 5 and inst[0]["variant"][0] in {"a", "y"}


def test_cli_errors_are_messages(ws: momenti.Workspace) -> None:
    result = CliRunner().invoke(cli, ["journeys", "dfg", "--case", "customer", "--gap", "soon"])
    assert result.exit_code != 0 and "gap" in str(result.exception or result.output)


@pytest.fixture
def client(ws: momenti.Workspace) -> Iterator[TestClient]:
    app = create_app(get_settings(data_dir=ws.settings.data_dir, sync_debounce_s=0.05))
    with AuthedClient(app) as c:
        yield c


def test_rest_dfg_json_dot_svg(ws: momenti.Workspace, client: TestClient) -> None:
    r = client.get("/api/v1/journeys/dfg")
    assert r.status_code == 200
    assert {(x["source"], x["target"]): x["count"] for x in r.json()["rows"]}[("a", "b")] == 3
    r = client.get("/api/v1/journeys/dfg", params={"filter": "channel:phone"})
    assert [(x["source"], x["target"]) for x in r.json()["rows"]] == [("a", "c")]
    assert r.json()["query"]["filters"] == {"channel": ["phone"]}
    dot = client.get("/api/v1/journeys/dfg", params={"format": "dot", "metric": "median"})
    assert dot.status_code == 200 and dot.text.startswith("digraph") and 'label="10s"' in dot.text
    svg = client.get("/api/v1/journeys/dfg.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    assert client.get("/api/v1/journeys/dfg", params={"format": "svg"}).content == svg.content
    # the journey map document keeps its own path
    assert client.get("/api/v1/journeys").status_code == 200


def test_rest_variants_activities_funnel_loyalty(ws: momenti.Workspace, client: TestClient) -> None:
    v = client.get("/api/v1/journeys/variants", params={"top": 1}).json()["rows"]
    assert v == [{**v[0], "variant": ["a", "b", "c"], "count": 2, "rank": 1, "happy_path": True}]
    a = client.get("/api/v1/journeys/activities", params={"which": "end"}).json()
    assert {r["activity"]: r["count"] for r in a["rows"]} == {"c": 4, "x": 1}
    f = client.get("/api/v1/journeys/funnel", params={"steps": "a,b,c"}).json()
    assert [r["n"] for r in f["rows"]] == [4, 3, 3] and f["query"]["steps"] == ["a", "b", "c"]
    assert f["rows"][0]["conversion_low"] is None  # NaN as null
    b = client.get("/api/v1/journeys/variants", params={"start_activity": "b", "end_activity": "c"}).json()
    assert {tuple(r["variant"]) for r in b["rows"]} == {("b", "c"), ("b", "b", "c")}
    inst = client.get("/api/v1/journeys/instances", params={"case": "customer", "gap": "12h"}).json()["rows"]
    assert len(inst) == 5
    loy = client.get("/api/v1/journeys/loyalty")
    assert loy.status_code == 200 and loy.json()["rows"] == []  # no survey answers in this log


def test_rest_bad_input(ws: momenti.Workspace, client: TestClient) -> None:
    r = client.get("/api/v1/journeys/dfg", params={"case": "customer", "gap": "soon"})
    assert r.status_code == 400 and "gap" in r.json()["detail"]
    assert client.get("/api/v1/journeys/funnel", params={"steps": "a"}).status_code == 400
    assert client.get("/api/v1/journeys/dfg", params={"coverage": 2}).status_code == 422
    assert client.get("/api/v1/journeys/dfg", params={"filter": "colour:red"}).status_code == 400
