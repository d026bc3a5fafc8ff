"""GET /metrics: what monitoring needs, in Prometheus text format, for one process or a `--workers` group.

- `momenti_http_requests_total{method,route,status}` and `momenti_http_request_seconds{route}` (a histogram):
  every answer, counted by a pure-ASGI middleware outside all the others (a 500 is counted too). `route` is the
  route's template (`/api/v1/cases/{case_id}`), never the raw path, so a client cannot grow the label set.
- Read from the store when scraped: `momenti_jobs_queued`, `momenti_jobs_failed` (dead-lettered jobs),
  `momenti_events_undelivered{subscriber}` (the sync's lag is the `warehouse` subscriber's), and
  `momenti_sync_failing` (1 when this process's last sync or dispatch signal failed).
- Memory: `momenti_warehouse_memory_bytes` (what the embedded DuckDB warehouse holds in memory, when this
  process has it open) and, for one process, prometheus_client's `process_resident_memory_bytes` and friends.

With `--workers` the supervisor points PROMETHEUS_MULTIPROC_DIR at `DATA_DIR/metrics/` before it starts the
processes (server/workers.py): each process writes its counters there and a scrape, whichever process answers
it, sums them all (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from momenti.pipelines import events
from momenti.warehouse.connection import duckdb_memory_bytes

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FAST_ROUTES = {"/api/v1/responses", "/api/v1/events", "/api/v1/feedback"}  # answered by server/fast_ingest.py

_REGISTRY = CollectorRegistry(auto_describe=True)  # ours, not the global one: one per process, tests included
REQUESTS = Counter("momenti_http_requests", "HTTP answers", ["method", "route", "status"], registry=_REGISTRY)
LATENCY = Histogram("momenti_http_request_seconds", "Time to answer, by route", ["route"], registry=_REGISTRY,
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

router = APIRouter(tags=["meta"])


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    return scope["path"] if scope.get("path") in FAST_ROUTES else "unmatched"


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = _route(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)


class _StoreGauges(Collector):
    """Gauges read when scraped, from the app's workspace and job queue."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = self.state.jobs
        yield GaugeMetricFamily("momenti_jobs_queued", "Jobs waiting in the queue", value=len(jobs.pending()))
        yield GaugeMetricFamily("momenti_jobs_failed", "Jobs that kept failing (dead-lettered; momenti jobs "
                                "retry requeues them)", value=len(jobs.dead()))
        lag = GaugeMetricFamily("momenti_events_undelivered", "Events not yet delivered, by subscriber (the "
                                "warehouse subscriber's is the sync lag)", labels=["subscriber"])
        for name, n in sorted(events.backlog(self.state.workspace.engine).items()):
            lag.add_metric([name], n)
        yield lag
        failing = 1 if self.state.syncer.last_error else 0
        yield GaugeMetricFamily("momenti_sync_failing", "1 when this process's last sync (or dispatch signal) "
                                "failed", value=failing)
        used = duckdb_memory_bytes()
        if used is not None:
            yield GaugeMetricFamily("momenti_warehouse_memory_bytes", "Memory the embedded DuckDB warehouse "
                                    "uses in this process (buffer pool, data not yet checkpointed)", value=used)


def _exposition(state: Any) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:  # per-process figures would not add up across a --workers group: one process only
        registry.register(_RegistryView())
        ProcessCollector(registry=registry)
    registry.register(_StoreGauges(state))
    return generate_latest(registry)


class _RegistryView(Collector):
    def collect(self) -> Iterator[Any]:
        yield from _REGISTRY.collect()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format (scrape with a token of the `read` scope: `authorization: credentials`)."""
    body = await run_in_threadpool(_exposition, request.app.state)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
