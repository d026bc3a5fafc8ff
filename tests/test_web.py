"""The overview page: journey order, scores with n and intervals, small-sample and moment-of-truth markers,
targets judged on the interval, the inline SVG trend, languages, JSON twin, no external requests; and the
API docs page (offline, every route listed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import momenti
from auth_helpers import AuthedClient
from momenti.core.config import get_settings
from momenti.server.app import create_app
from momenti.server.web import charts, views


@pytest.fixture
def client(workspace: momenti.Workspace) -> Iterator[TestClient]:
    app = create_app(get_settings(data_dir=workspace.settings.data_dir, min_n=30, sync_debounce_s=0.05))
    ws = app.state.workspace
    rows = []
    # branch-visit: 40 answers over two months; app-login: 5 (a small sample); others: none.
    for i in range(40):
        rows.append({"response_id": f"b{i}", "customer_id": f"c{i}", "touchpoint": "branch-visit",
                     "submitted_at": f"2025-0{1 + i % 2}-{1 + i % 28:02d}T10:00:00",
                     "nps": [10, 9, 9, 8, 7, 5, 10, 2][i % 8], "csat": [5, 4, 4, 3][i % 4]})
    for i in range(5):
        rows.append({"response_id": f"a{i}", "customer_id": f"c{i}", "touchpoint": "app-login",
                     "submitted_at": "2025-03-10T10:00:00", "nps": [3, 9, 10, 6, 8][i], "csat": 4})
    with app.state.syncer.lock:
        assert ws.import_records("responses", rows, source="test", strict=True).added == 45
    with AuthedClient(app) as c:
        yield c


def _card(html: str, key: str) -> str:
    m = re.search(rf'<li class="touchpoint[^"]*" id="tp-{key}".*?</li>', html, re.S)
    assert m, f"no card for {key}"
    return unescape(m.group(0)).replace("\xa0", " ")


def test_overview_lists_the_journey_in_order(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-language"] == "it"
    html = r.text
    doc = client.app.state.workspace.journey_document()
    keys = [tp["key"] for s in doc["journeys"][0]["stages"] for tp in s["touchpoints"]]
    positions = [html.index(f'id="tp-{k}"') for k in keys]
    assert positions == sorted(positions) and len(keys) >= 10
    stages = [s["name"]["it"] for s in doc["journeys"][0]["stages"]]
    stage_pos = [html.index(f"</span> {name}</h3>") for name in stages]
    assert stage_pos == sorted(stage_pos)
    assert "Visita in filiale" in html and "Conto corrente privati" in html  # Italian by default


def test_scores_show_n_interval_and_markers(client: TestClient) -> None:
    html = client.get("/").text
    data = client.get("/?format=json").json()
    tps = {tp["key"]: tp for s in data["journeys"][0]["stages"] for tp in s["touchpoints"]}
    branch = tps["branch-visit"]["nps"]
    nps = client.app.state.workspace.nps(by="touchpoint").set_index("touchpoint")
    assert branch["n"] == 40 and branch["value"] == pytest.approx(nps.loc["branch-visit", "nps"])
    assert branch["ci_low"] == pytest.approx(nps.loc["branch-visit", "ci_low"])

    card = _card(html, "branch-visit")
    assert f"{branch['value']:+.0f}" in card
    assert f"[{branch['ci_low']:+.0f}; {branch['ci_high']:+.0f}]" in card
    assert "n = 40" in card and "campione piccolo" not in card
    assert "Momento della verità" in card and "is-mot" in card  # branch-visit is a declared moment of truth

    small = _card(html, "app-login")
    assert "n = 5" in small and "campione piccolo" in small  # flagged, not hidden
    assert re.search(r"\[[-+]\d+; [-+]\d+\]", small)

    empty = _card(html, "website-visit")
    assert "nessuna risposta" in empty and "Momento della verità" not in empty


def _template_target(key: str) -> float:
    import yaml

    bank = Path(__file__).parents[1] / "src/momenti/domains/journey_map/templates/bank.yaml"
    doc = yaml.safe_load(bank.read_text())
    return next(t["target_score"] for j in doc["journeys"] for s in j["stages"] for t in s["touchpoints"]
                if t["key"] == key)


def test_target_is_judged_on_the_interval(client: TestClient) -> None:
    data = client.get("/?format=json").json()
    tps = {tp["key"]: tp for s in data["journeys"][0]["stages"] for tp in s["touchpoints"]}
    target = tps["branch-visit"]["target"]
    declared = _template_target("branch-visit")  # what the bank template promises for this touchpoint
    assert target["metric"] == "nps" and target["score"] == declared
    assert target["status"] == views.target_status(tps["branch-visit"]["nps"], declared)
    assert f"Obiettivo NPS ≥ {declared:+.0f}" in _card(client.get("/").text, "branch-visit")
    assert views.target_status({"ci_low": 41, "ci_high": 60}, 40) == "met"
    assert views.target_status({"ci_low": 10, "ci_high": 39.9}, 40) == "missed"
    assert views.target_status({"ci_low": 30, "ci_high": 50}, 40) == "unclear"
    assert views.target_status(None, 40) is None and views.target_status({"ci_low": None, "ci_high": 3}, 1) is None


def test_trend_svg_has_band_points_and_tooltips(client: TestClient) -> None:
    html = client.get("/").text
    svg = re.search(r"<svg class=\"trend\".*?</svg>", html, re.S)
    assert svg
    body = svg.group(0)
    assert body.count("<circle") == 3  # 2025-01, 2025-02, 2025-03
    assert '<polygon class="band"' in body and '<polyline class="line"' in body
    tips = re.findall(r"<circle[^>]*><title>([^<]*)</title>", body)
    assert tips[0].startswith("2025-01: NPS") and "n = 20" in tips[0]
    assert "n = 5" in tips[2] and "campione piccolo" in tips[2]
    assert 'class="point small"' in body  # the 5-answer month is drawn hollow
    assert "<table class=\"trend-table\">" in html  # the same numbers as a table


def test_trend_breaks_at_missing_months() -> None:
    pts = [{"period": p, "n": 50, "nps": 10.0, "ci_low": 0.0, "ci_high": 20.0, "small_sample": False}
           for p in ("2025-01", "2025-02", "2025-04")]
    assert [len(r) for r in charts._runs(pts)] == [2, 1]
    svg = charts.trend_svg(pts, "t", views.LABELS["en"])
    assert svg.count("<polyline") == 1 and svg.count('class="whisker"') == 1 and svg.count("<circle") == 3
    assert charts.trend_svg([], "t", views.LABELS["en"]) == ""
    lo, hi = charts._y_range([{"nps": -90.0, "ci_low": -99.0, "ci_high": 95.0}])
    assert (lo, hi) == (-100, 100)


@pytest.mark.parametrize(("query", "header", "expected"), [
    ("", None, "it"), ("?lang=en", None, "en"), ("", "en-GB,en;q=0.9", "en"),
    ("", "de-DE,de;q=0.9,en;q=0.5,it;q=0.8", "it"), ("?lang=it", "en", "it"), ("", "fr", "it"),
])
def test_language(client: TestClient, query: str, header: str | None, expected: str) -> None:
    r = client.get("/" + query, headers={"Accept-Language": header} if header else {})
    assert r.status_code == 200 and f'<html lang="{expected}">' in r.text
    names = {"it": "Visita in filiale", "en": "Branch visit"}
    assert names[expected] in r.text
    assert ("Momento della verità" if expected == "it" else "Moment of truth") in r.text


def test_json_twin_and_no_external_urls(client: TestClient) -> None:
    data = client.get("/?format=json&lang=en").json()
    expected = views.overview(client.app.state.workspace, "en")
    assert data == _jsonable(expected)
    assert data["min_n"] == 30 and data["journeys"][0]["trend"][0]["period"] == "2025-01"
    html = client.get("/").text
    assert "http://" not in html and "https://" not in html and "<script" not in html
    css = client.get("/static/momenti.css")
    assert css.status_code == 200 and "url(" not in css.text and "@import" not in css.text


def test_date_window_and_bad_parameters(client: TestClient) -> None:
    data = client.get("/?format=json&from=2025-02-01&to=2025-02-28").json()
    tps = {tp["key"]: tp for s in data["journeys"][0]["stages"] for tp in s["touchpoints"]}
    assert tps["branch-visit"]["nps"]["n"] == 20 and tps["app-login"]["nps"] is None
    assert [p["period"] for p in data["journeys"][0]["trend"]] == ["2025-02"]
    assert client.get("/?from=2025-02-30").status_code == 422
    assert client.get("/?lang=de").status_code == 422
    assert client.get("/?from=2025-03-01&to=2025-01-01").status_code == 400


def test_empty_workspace_page(tmp_path: Any) -> None:
    app = create_app(get_settings(data_dir=tmp_path / "empty"))
    with AuthedClient(app) as c:
        r = c.get("/")
    assert r.status_code == 200 and "Nessun percorso definito" in r.text


# --- API docs: offline, complete ------------------------------------------------------------------


def test_docs_work_offline(client: TestClient) -> None:
    html = client.get("/docs")
    assert html.status_code == 200
    assert "http://" not in html.text and "https://" not in html.text and "cdn" not in html.text.lower()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html.text and '"validatorUrl": null' in html.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        got = client.get(f"/static/vendor/swagger-ui/{asset}")
        assert got.status_code == 200 and len(got.content) > 500, asset
    assert client.get("/redoc").status_code == 404  # FastAPI's CDN-based ReDoc is off


def test_openapi_lists_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    # Every route the app serves (the write routes read their bodies themselves, so the schema is assembled
    # by hand in api/app.py: it must still list them all).
    routers = [getattr(r, "original_router", None) for r in client.app.routes]  # FastAPI's included routers
    served = [r for r in client.app.routes if isinstance(r, APIRoute)]
    served += [route for router in routers if router is not None for route in router.routes]
    routes = {(r.path, m.lower()) for r in served if isinstance(r, APIRoute) and r.include_in_schema
              for m in r.methods}
    assert len(routes) >= 8
    listed = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    assert routes == listed
    assert {"/api/v1/responses", "/api/v1/events", "/api/v1/feedback", "/api/v1/metrics/{metric}",
            "/api/v1/metrics/{metric}/compare", "/api/v1/journeys", "/api/v1/health", "/"} <= set(spec["paths"])
    body = spec["paths"]["/api/v1/responses"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["anyOf"][0] == {"$ref": "#/components/schemas/ResponseCreate"}
    schemas = spec["components"]["schemas"]
    assert {"ResponseCreate", "EventCreate", "FeedbackCreate", "WriteResult", "MetricPublic"} <= set(schemas)
    assert "answers" in schemas["ResponseCreate"]["properties"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))
