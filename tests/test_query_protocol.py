"""The one query protocol: every registered kind answers through ws.run as its Workspace shortcut does, the
REST route and the CLI give the same rows, bad kinds and parameters are refused naming the field, and the result
cache serves a repeated question until a sync changes the data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.core.config import get_settings
from momenti.insights.query import QueryError, kinds_schema, parse, registry

# Parameters for the kinds that need some (or would be slow with their defaults); the others run with none.
PARAMS: dict[str, dict] = {
    "nps": {"by": "touchpoint", "period": "month"},
    "metric": {"metric": "csat", "by": ["channel"]},
    "compare": {"metric": "nps", "period": "quarter"},
    "drivers": {"bootstrap": 20},
    "quadrant": {"bootstrap": 0},
    "net_shift": {"period": "quarter"},
    "cox": {"covariates": "bad:app-login"},
    "repeat_contacts": {"by": "channel", "days": 7},
    "comments": {"limit": 20},
}

FAMILIES = {"nps", "csat", "ces", "metric", "compare", "drivers", "penalty_reward", "quadrant", "dissonance",
            "weakest_link", "dfg", "variants", "activities", "funnel", "path_loyalty", "repeat_contacts", "fcr",
            "handling_time", "complaint_rate", "channel_switching", "contact_loyalty", "loyalty_battery",
            "net_shift", "loyalty_index", "loyalty_segments", "price_gap", "loyalty_bank", "survival", "logrank",
            "cox", "topics", "comments", "text_trends"}


def _params(ws: momenti.Workspace, kind: str) -> dict:
    if kind == "funnel":  # two activities the demo's journeys hold, the most frequent first
        top = ws.activities().sort_values("count", ascending=False)["activity"].tolist()[:2]
        return {"steps": top}
    return PARAMS.get(kind, {})


def test_every_family_is_registered() -> None:
    assert FAMILIES <= set(registry())
    schema = kinds_schema()
    assert "by" in schema["nps"]["parameters"]["properties"]
    assert schema["funnel"]["parameters"]["required"] == ["steps"]


@pytest.mark.parametrize("kind", sorted(FAMILIES))
def test_kind_equals_its_shortcut(demo_ws: momenti.Workspace, kind: str) -> None:
    q = parse({"kind": kind, **_params(demo_ws, kind)})
    got = demo_ws.run(q)
    want = getattr(demo_ws, q.shortcut)(**q.arguments())
    pd.testing.assert_frame_equal(got, want)
    meta = got.attrs["query"]
    assert meta["kind"] == kind and meta["parameters"] == q.parameters()
    if "small_sample" in got.columns:
        assert "small_sample" in meta["flags"]


def test_shortcut_arguments_spelled_out(demo_ws: momenti.Workspace) -> None:
    """The dict form against the shortcut called the way a user writes it."""
    pd.testing.assert_frame_equal(demo_ws.run({"kind": "nps", "by": "touchpoint"}), demo_ws.nps(by="touchpoint"))
    pd.testing.assert_frame_equal(demo_ws.run({"kind": "fcr", "by": ["reason"], "days": 14}),
                                  demo_ws.fcr(days=14, by="reason"))
    bank = demo_ws.run({"kind": "loyalty_bank", "buckets": [0, 2, 4]})
    pd.testing.assert_frame_equal(bank, demo_ws.loyalty_bank(buckets=(0, 2, 4)))
    assert bank.attrs["trend"] == demo_ws.loyalty_bank(buckets=(0, 2, 4)).attrs["trend"]
    sql = parse({"kind": "nps", "by": "touchpoint"}).to_sql(momenti.insights.query.Context(demo_ws))
    assert sql == demo_ws.explain("nps", by="touchpoint")


def test_bad_kind_and_parameter_name_the_field() -> None:
    with pytest.raises(QueryError) as exc:
        parse({"kind": "npz"})
    assert exc.value.errors[0]["loc"] == ["kind"] and "nps" in exc.value.errors[0]["msg"]
    with pytest.raises(QueryError) as exc:
        parse({"kind": "nps", "colour": "red"})
    assert exc.value.errors[0]["loc"] == ["colour"] and exc.value.errors[0]["msg"] == "unknown parameter"
    with pytest.raises(QueryError) as exc:
        parse({"kind": "nps", "period": "fortnight"})
    assert exc.value.errors[0]["loc"] == ["period"]
    with pytest.raises(QueryError) as exc:
        parse({"kind": "funnel"})
    assert exc.value.errors[0]["loc"] == ["steps"]


def test_cache_key_is_normalised() -> None:
    a = parse({"kind": "nps", "by": "touchpoint"})
    assert a.cache_key() == parse({"kind": "nps", "by": ["touchpoint"], "period": None}).cache_key()
    assert a.cache_key() != parse({"kind": "csat", "by": "touchpoint"}).cache_key()
    assert a.cache_key() != parse({"kind": "nps", "by": "channel"}).cache_key()


def _answer(i: int, score: int, day: str = "2025-03-10") -> dict:
    return {"response_id": f"R{i}", "customer_id": f"C{i}", "touchpoint": "app-login",
            "submitted_at": f"{day}T09:00:00Z", "nps": score}


def test_second_call_from_cache_and_sync_invalidates(workspace: momenti.Workspace,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.insights.scores.queries import NpsQuery

    workspace.import_records("responses", [_answer(i, 10) for i in range(5)])
    calls = []
    calculate = NpsQuery.calculate

    def counted(self: NpsQuery, ctx: object) -> object:
        calls.append(self.kind)
        return calculate(self, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(NpsQuery, "calculate", counted)
    first = workspace.run({"kind": "nps", "by": "touchpoint"})
    first.loc[0, "nps"] = -1  # a caller changing its frame does not change the cached answer
    second = workspace.run({"kind": "nps", "by": ["touchpoint"]})
    assert len(calls) == 1 and workspace.results.hits == 1
    assert second.loc[0, "nps"] == 100 and second.loc[0, "n"] == 5
    workspace.sync()  # nothing new: still the same warehouse state, still cached
    workspace.run({"kind": "nps", "by": "touchpoint"})
    assert len(calls) == 1
    workspace.import_records("responses", [_answer(i, 0) for i in range(5, 10)])  # imports sync
    third = workspace.run({"kind": "nps", "by": "touchpoint"})
    assert len(calls) == 2 and third.loc[0, "n"] == 10 and third.loc[0, "nps"] == 0
    # The answer at the old watermarks can never be read again: it left the cache when the new one came in.
    nps_entries = [k for k in workspace.results if k[0] == next(iter(workspace.results))[0]]
    assert len(workspace.results) == 1 and len(nps_entries) == 1


def test_cache_is_bounded(tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data", query_cache_size=2)
    try:
        for kind in ("nps", "csat", "ces"):
            ws.run({"kind": kind})
        assert len(ws.results) == 2
    finally:
        ws.close()


def test_rest_query_equals_get_routes(demo_ws: momenti.Workspace) -> None:
    from momenti.server.app import create_app

    app = create_app(get_settings(data_dir=demo_ws.settings.data_dir))
    assert "/api/v1/query" in app.openapi()["paths"]
    with AuthedClient(app) as client:
        get = client.get("/api/v1/metrics/nps", params={"by": "touchpoint", "period": "month"}).json()
        post = client.post("/api/v1/query", json={"kind": "nps", "by": "touchpoint", "period": "month"})
        assert post.status_code == 200, post.text
        body = post.json()
        assert body["rows"] == get["rows"] and body["kind"] == "nps" and "ci_low" in body["intervals"]
        get = client.get("/api/v1/analysis/loyalty-bank").json()
        body = client.post("/api/v1/query", json={"kind": "loyalty_bank"}).json()
        assert body["rows"] == get["rows"] and body["trend"] == get["trend"]
        csv = client.post("/api/v1/query?format=csv", json={"kind": "nps", "by": "touchpoint"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert pd.read_csv(io.StringIO(csv.text))["n"].tolist() == [r["n"] for r in client.post(
            "/api/v1/query", json={"kind": "nps", "by": "touchpoint"}).json()["rows"]]
        kinds = client.get("/api/v1/query/kinds").json()
        assert FAMILIES <= set(kinds)


def test_rest_query_refuses_invalid_input(demo_ws: momenti.Workspace) -> None:
    """A read route open like the GET analysis routes (no token); what it refuses is bad input, by field."""
    from momenti.server.app import create_app

    app = create_app(get_settings(data_dir=demo_ws.settings.data_dir, api_max_body_bytes=1000))
    with AuthedClient(app) as client:
        r = client.post("/api/v1/query", json={"kind": "npz"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"]
        r = client.post("/api/v1/query", json={"kind": "nps", "colour": "red"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "colour"]
        r = client.post("/api/v1/query", json=["nps"])
        assert r.status_code == 422
        r = client.post("/api/v1/query", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422
        r = client.post("/api/v1/query", json={"kind": "nps", "question": "x" * 2000})
        assert r.status_code == 413
        r = client.post("/api/v1/query", json={"kind": "compare"})  # valid shape, refused by the insight
        assert r.status_code == 400 and "period" in r.json()["detail"]
        assert "Traceback" not in r.text
        r = client.post("/api/v1/query?format=xml", json={"kind": "nps"})
        assert r.status_code == 422


def test_cli_query(demo_ws: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(demo_ws.settings.data_dir))
    runner = CliRunner()
    res = runner.invoke(app, ["query", "nps", "--param", "by=touchpoint", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    want = json.loads(json.dumps(demo_ws.nps(by="touchpoint").to_dict("records"), default=str))
    assert [r["touchpoint"] for r in doc["rows"]] == [r["touchpoint"] for r in want]
    assert doc["kind"] == "nps"
    res = runner.invoke(app, ["query", "nps", "--param", "by=touchpoint"])
    assert res.exit_code == 0 and "touchpoint" in res.output
    res = runner.invoke(app, ["query", "repeat_contacts", "-p", "days=14", "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith(("n,", "repeat"))
    res = runner.invoke(app, ["query", "--list"])
    assert res.exit_code == 0 and "loyalty_bank" in res.output
    res = runner.invoke(app, ["query", "nps", "--param", "colour=red"])
    assert res.exit_code == 2 and "colour" in res.output
    res = runner.invoke(app, ["query", "npz"])
    assert res.exit_code == 2 and "kind" in res.output

