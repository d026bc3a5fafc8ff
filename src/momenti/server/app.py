"""The server application: REST API (v1), web pages, offline API docs.

One Workspace per app, opened with bulk=False: requests run in threads, and the ADBC bulk path carries its
own SQLite library that must not meet the sqlite3 one in the same process (see store/raw.py).
"""

from __future__ import annotations

import gc
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic.json_schema import models_json_schema

import momenti
from momenti.core.config import Settings, get_settings
from momenti.domains.surveys.abuse import login_bucket
from momenti.pipelines.jobs import JobRunner
from momenti.server import errors, middleware
from momenti.server import metrics as metrics_route
from momenti.server.api import analysis, contact, lifecycle, loyalty, meta, metrics, retention, writes
from momenti.server.api import cases as cases_router
from momenti.server.api import customers as customers_router
from momenti.server.api import paths as journeys
from momenti.server.api import privacy as privacy_router
from momenti.server.api import query as query_router
from momenti.server.api import reviews as reviews_router
from momenti.server.api import surveys as surveys_router
from momenti.server.api import text as text_router
from momenti.server.auth import authorize
from momenti.server.leader import Leadership
from momenti.server.route_permissions import undeclared
from momenti.server.schemas import CREATE_MODELS
from momenti.server.web import (
    admin_audit,
    admin_loop,
    admin_privacy,
    admin_users,
    auth_pages,
    cases_pages,
    notifications,
    story_pages,
    survey_builder,
    survey_pages,
)
from momenti.server.web import routes as web
from momenti.server.web import survey_reach as reach_routes
from momenti.server.web.dashboard import routes as dashboard
from momenti.server.writer import GroupWriter
from momenti.warehouse.connection import open_warehouse
from momenti.warehouse.sync import ensure_schema
from momenti.workspace import Workspace

DESCRIPTION = """Moments-of-Truth customer experience: journeys, listening, honest metrics.

Write endpoints take a bearer token (`momenti token create NAME`). Every score comes with `n`, a 95 % interval
(`ci_low`, `ci_high`) and `small_sample`; NaN is sent as null."""


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the write bodies: those routes read their JSON themselves (to validate batches
    with per-item errors and to cap the body size), so FastAPI cannot see the models on its own."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    _, defs = models_json_schema([(m, "validation") for m in CREATE_MODELS.values()],
                                 ref_template="#/components/schemas/{model}")
    schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    ws = Workspace(settings, bulk=False)
    # A workspace never synced has no warehouse tables, and every metric question would fail on it; an
    # empty schema makes a fresh server answer "no data" instead.
    with open_warehouse(settings.warehouse) as wh:
        ensure_schema(wh)
    # The debounced signal of the event dispatcher (pipelines/events.py, pipelines/debounce.py): many writes,
    # one run. In the process that leads (server/leader.py: the only one, or one of `--workers N`) with
    # embedded jobs, the consumer runs here and so does the dispatch; elsewhere (a follower, or a separate
    # `momenti worker`) the debouncer queues dispatch jobs for whoever consumes the queue.
    leader = Leadership(settings.data_dir)
    jobs = JobRunner(ws)
    syncer = jobs.sync
    writer = GroupWriter(ws, on_written=syncer.touch)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Only a process that would run the jobs competes to lead (a follower of `--workers` does not).
        _app.state.leads = settings.jobs_embedded and leader.acquire_leadership()
        _app.state.known_questions.update(writes.known_question_keys(ws))  # the ingest path then asks the store nothing
        writer.start()
        if _app.state.leads:
            jobs.start()
        else:
            jobs.attach_remote()
        syncer.touch()  # catch up with anything written while no server ran
        # The objects made so far (modules, the app, the text engines) live as long as the process: a full
        # garbage collection walking them all paused every request of the process by ~100-200 ms under load
        # (bench/http_ingest.py). Frozen, collections walk only what requests allocate.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            writer.close()  # answer every queued write first
            jobs.stop()  # then the dispatch still pending runs here
            syncer.close()  # (a follower: queue it now) before exit
            leader.release()
            ws.close()

    # docs_url/redoc_url off: FastAPI's defaults load Swagger UI and ReDoc from a CDN; /docs is served below
    # from vendored files so the app works offline.
    # openapi_url None: FastAPI would serve the schema on a plain Starlette route, which skips the app's
    # dependencies (sign-in); it is served below as an ordinary route instead.
    app = FastAPI(title="momenti", version=momenti.__version__, description=DESCRIPTION, docs_url=None,
                  redoc_url=None, openapi_url=None, lifespan=lifespan,
                  # Every route: who is calling and may they (server/auth.py, server/route_permissions.py).
                  dependencies=[Depends(authorize)])
    app.state.workspace = ws
    app.state.syncer = syncer
    app.state.writer = writer
    app.state.jobs = jobs
    app.state.leads = True  # decided at start (lifespan); an app used without one does its own work, as before
    app.state.token_cache = {}  # server/auth.py
    # server/web/auth_pages.py: MOMENTI_LOGIN_RATE_PER_MINUTE attempts per IP at once, then that many a minute;
    # the bucket is in the store, shared by every server process
    app.state.login_limiter = login_bucket(ws.engine, settings)
    app.state.known_questions = set()  # api/routers/writes.py check_new_questions
    errors.install(app)
    app.mount("/static", StaticFiles(directory=web.STATIC), name="static")

    @app.get("/docs", include_in_schema=False, name="swagger_ui")
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        vendor = f"{root}/static/vendor/swagger-ui"
        page = get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json", title="momenti API",
            swagger_js_url=f"{vendor}/swagger-ui-bundle.js", swagger_css_url=f"{vendor}/swagger-ui.css",
            swagger_favicon_url=f"{vendor}/favicon-32x32.png",
            # validatorUrl None: otherwise Swagger UI asks validator.swagger.io about the schema.
            swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": False})
        # Its own policy: Swagger UI starts from one inline script (allowed by a nonce) and fetches the schema;
        # its stylesheet is a file, and the styles its React components set go through the CSSOM, which
        # style-src does not govern: no 'unsafe-inline' (tests/test_security_headers.py, in Chromium).
        nonce = secrets.token_urlsafe(12)
        html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
        csp = (f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(meta.router)
    app.include_router(metrics_route.router)
    app.include_router(metrics.router)
    app.include_router(writes.router)
    app.include_router(journeys.router)
    app.include_router(contact.router)
    app.include_router(analysis.router)
    app.include_router(loyalty.router)
    app.include_router(retention.router)
    app.include_router(lifecycle.router)
    app.include_router(query_router.router)
    app.include_router(text_router.router)
    app.include_router(surveys_router.router)
    app.include_router(cases_router.router)
    app.include_router(customers_router.router)
    app.include_router(reviews_router.router)
    app.include_router(survey_pages.router)
    app.include_router(survey_builder.router)
    reach_routes.install(app)  # widget, unsubscribe, bounces; size limit of public POSTs
    app.include_router(web.router)
    app.include_router(dashboard.router)
    app.include_router(auth_pages.router)
    app.include_router(admin_users.router)
    app.include_router(admin_audit.router)
    app.include_router(cases_pages.router)
    app.include_router(notifications.router)
    app.include_router(admin_loop.router)
    app.include_router(story_pages.router)
    app.include_router(admin_privacy.router)
    app.include_router(privacy_router.router)
    middleware.install(app)  # security headers, a 500 that keeps the connection, no NUL into SQL
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    missing = undeclared(app.routes)
    if missing:  # a route nobody declared a permission for would be refused to all: say so at start instead
        raise RuntimeError(f"routes missing from server/route_permissions.py: {', '.join(missing)}")
    return app
