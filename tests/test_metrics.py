"""GET /metrics (server/metrics.py): Prometheus text, for tokens that may read aggregates, counting every answer."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api_helpers import Api, response
from auth_helpers import make_token


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_metrics_count_answers_and_read_the_queue(api: Api) -> None:
    assert TestClient(api.app).get("/metrics").status_code == 401  # no token, no session
    ingest_only = make_token(api.ws, "ingest")
    assert api.client.get("/metrics", headers={"Authorization": f"Bearer {ingest_only}"}).status_code == 403
    reader = {"Authorization": f"Bearer {make_token(api.ws, 'read')}"}
    before = _samples(api.client.get("/metrics", headers=reader).text)
    key = ("momenti_http_requests_total", (("method", "POST"), ("route", "/api/v1/responses"), ("status", "201")))
    for i in range(3):
        assert api.post("/api/v1/responses", response(i)).status_code == 201
    assert api.post("/api/v1/responses", response(9, touchpoint="nowhere")).status_code == 422
    api.client.get("/api/v1/cases/12345")
    api.client.get("/no/such/page/123")
    page = api.client.get("/metrics", headers=reader)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    after = _samples(page.text)
    assert after[key] - before.get(key, 0) == 3
    refused = ("momenti_http_requests_total", (("method", "POST"), ("route", "/api/v1/responses"), ("status", "422")))
    assert after[refused] - before.get(refused, 0) == 1
    routes = {dict(labels).get("route") for (name, labels) in after if name == "momenti_http_requests_total"}
    assert "/api/v1/cases/{case_id}" in routes and "unmatched" in routes  # templates, never raw paths
    assert not any("12345" in str(r) or "/no/such" in str(r) for r in routes)
    hist = ("momenti_http_request_seconds_count", (("route", "/api/v1/responses"),))
    assert after[hist] - before.get(hist, 0) == 4
    assert ("momenti_jobs_queued", ()) in after and ("momenti_jobs_failed", ()) in after
    assert ("momenti_events_undelivered", (("subscriber", "warehouse"),)) in after
    assert after[("momenti_sync_failing", ())] == 0
    assert after[("process_resident_memory_bytes", ())] > 10_000_000  # the process's own figures, one process


def test_warehouse_memory_is_read_while_the_warehouse_is_open(api: Api) -> None:
    from momenti.warehouse.connection import duckdb_memory_bytes, open_warehouse

    # (the server's background sync may hold it open too: only what is read while it is open is asserted)
    with open_warehouse(api.ws.settings.warehouse) as wh:
        wh.rows('SELECT count(*) FROM "responses"')
        used = duckdb_memory_bytes()
    assert used is not None and used > 0
