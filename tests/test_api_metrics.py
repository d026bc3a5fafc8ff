"""REST API reads: the metric JSON contract and values, periods, filters and dates, NaN as null, 4xx for bad
questions, compare, journeys and health, and a fresh workspace that answers empty. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

import momenti
from api_helpers import Api, scored
from auth_helpers import AuthedClient
from momenti.core.config import get_settings
from momenti.core.frames import records
from momenti.server.app import create_app


@pytest.fixture
def scored_api(api: Api) -> Api:
    api.seed(scored(40, "branch-visit", "2025-01", [10, 9, 8, 7, 6, 3, 10, 9], "a")
             + scored(45, "branch-visit", "2025-02", [10, 9, 10, 7, 9, 5], "b")
             + scored(6, "app-login", "2025-02", [2, 9, 10], "c"))
    return api


def test_metric_json_contract_and_values(scored_api: Api) -> None:
    r = scored_api.client.get("/api/v1/metrics/nps", params={"by": "touchpoint"})
    assert r.status_code == 200
    body = r.json()
    assert body["metric"] == "nps"
    assert body["query"] == {"by": ["touchpoint"], "period": None, "from": None, "to": None, "filters": {},
                             "question": "nps"}
    expected = records(scored_api.ws.nps(by="touchpoint"))
    assert [row["touchpoint"] for row in body["rows"]] == [row["touchpoint"] for row in expected]
    for got, want in zip(body["rows"], expected, strict=True):
        assert set(want) <= set(got)
        for k in ("n", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high", "small_sample"):
            assert got[k] == pytest.approx(want[k]), k
    by_tp = {row["touchpoint"]: row for row in body["rows"]}
    assert {k: v["small_sample"] for k, v in by_tp.items()} == {"app-login": True, "branch-visit": False}
    branch = by_tp["branch-visit"]
    assert branch["n"] == 85 and branch["ci_low"] < branch["nps"] < branch["ci_high"]


def test_metric_period_filters_and_dates(scored_api: Api) -> None:
    r = scored_api.client.get("/api/v1/metrics/csat", params=[
        ("by", "touchpoint"), ("period", "month"), ("from", "2025-02-01"), ("to", "2025-02-28"),
        ("filter", "touchpoint:branch-visit,app-login"), ("filter", "channel=app")])
    assert r.status_code == 200 and r.json()["rows"] == []  # no response came through the app channel
    r = scored_api.client.get("/api/v1/metrics/csat", params=[
        ("by", "touchpoint"), ("period", "month"), ("from", "2025-02-01"), ("filter", "touchpoint:branch-visit")])
    rows = r.json()["rows"]
    want = records(scored_api.ws.csat(by="touchpoint", period="month", start="2025-02-01",
                                      filters={"touchpoint": ["branch-visit"]}))
    assert len(rows) == 1 and rows[0]["period"] == "2025-02-01" and rows[0]["n"] == 45
    assert rows[0]["csat"] == pytest.approx(want[0]["csat"])
    assert r.json()["query"]["filters"] == {"touchpoint": ["branch-visit"]}
    assert r.json()["query"]["from"] == "2025-02-01"


def test_nan_is_sent_as_null(scored_api: Api) -> None:
    scored_api.seed([{"response_id": "ces1", "customer_id": "c1", "touchpoint": "app-login",
                      "submitted_at": "2025-03-01T10:00:00", "ces": 6}])
    r = scored_api.client.get("/api/v1/metrics/ces", params={"by": "touchpoint"})
    assert r.status_code == 200 and "NaN" not in r.text
    row = r.json()["rows"][0]
    assert row["n"] == 1 and row["ces"] == 6 and row["ci_low"] is None and row["small_sample"] is True


@pytest.mark.parametrize(("url", "status"), [
    ("/api/v1/metrics/loyalty", 422),
    ("/api/v1/metrics/nps?period=fortnight", 422),
    ("/api/v1/metrics/nps?from=2025-13-01", 422),
    ("/api/v1/metrics/nps?by=colour", 400),
    ("/api/v1/metrics/nps?by=touchpoint,touchpoint", 400),
    ("/api/v1/metrics/nps?filter=touchpoint", 400),
    ("/api/v1/metrics/nps?from=2025-03-01&to=2025-01-01", 400),
    ("/api/v1/metrics/nps/compare?by=touchpoint", 400),
    ("/api/v1/metrics/nps/compare?periods=2025-01", 400),
    ("/api/v1/metrics/nps/compare?periods=2025-01&periods=2025-13", 400),
])
def test_bad_metric_questions_are_4xx(api_sqlite: Api, url: str, status: int) -> None:
    r = api_sqlite.client.get(url)
    assert r.status_code == status, r.text
    assert "detail" in r.json()


def test_compare_endpoint(scored_api: Api) -> None:
    r = scored_api.client.get("/api/v1/metrics/nps/compare",
                              params=[("by", "touchpoint"), ("periods", "2025-01"), ("periods", "2025-02")])
    assert r.status_code == 200
    rows = r.json()["rows"]
    want = records(scored_api.ws.compare("nps", by="touchpoint", periods=("2025-01", "2025-02")))
    assert len(rows) == 1 and rows[0]["touchpoint"] == "branch-visit"
    for k in ("n_a", "n_b", "nps_a", "nps_b", "delta", "ci_low", "ci_high", "p_value", "significant",
              "small_sample"):
        assert rows[0][k] == pytest.approx(want[0][k]), k
    assert (rows[0]["period_a"], rows[0]["period_b"]) == ("2025-01", "2025-02")
    by_month = scored_api.client.get("/api/v1/metrics/nps/compare", params={"by": "touchpoint", "period": "month"})
    assert by_month.status_code == 200
    assert [(x["period_a"], x["period_b"]) for x in by_month.json()["rows"]] == [("2025-01-01", "2025-02-01")]
    assert by_month.json()["rows"][0]["delta"] == pytest.approx(rows[0]["delta"])


# --- meta, lifecycle ----------------------------------------------------------------------------------


def test_journeys_and_health(api_sqlite: Api) -> None:
    doc = api_sqlite.client.get("/api/v1/journeys").json()
    assert doc == api_sqlite.ws.journey_document()
    assert doc["journeys"][0]["key"] == "retail-banking"
    health = api_sqlite.client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["store"] == "sqlite" and health["version"] == momenti.__version__


def test_fresh_workspace_answers_empty_metrics(tmp_path: Any) -> None:
    app = create_app(get_settings(data_dir=tmp_path / "fresh"))  # never synced, no journey
    with AuthedClient(app) as client:
        r = client.get("/api/v1/metrics/nps", params={"by": "touchpoint", "period": "month"})
        assert r.status_code == 200 and r.json()["rows"] == []
        assert client.get("/api/v1/metrics/nps/compare", params={"period": "month"}).json()["rows"] == []
        assert client.get("/api/v1/journeys").json() == {"journeys": []}


# --- CLI: momenti token ---------------------------------------------------------------------------
