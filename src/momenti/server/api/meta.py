"""GET /api/v1/journeys, /api/v1/health and /api/v1/me."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import momenti
from momenti.server.auth import PrincipalDep
from momenti.server.deps import WorkspaceDep
from momenti.server.schemas import HealthPublic, JourneysPublic
from momenti.server.schemas.meta import MePublic

router = APIRouter(prefix="/api/v1", tags=["meta"])
log = logging.getLogger("momenti.server")


@router.get("/journeys", response_model=JourneysPublic, summary="The journey document")
def journeys(ws: WorkspaceDep) -> dict:
    """Journeys, their stages and touchpoints in order (what `momenti journey show` prints)."""
    return ws.journey_document()


@router.get("/health", response_model=HealthPublic, summary="Liveness and store reachability",
            responses={503: {"model": HealthPublic, "description": "The store does not answer"}})
def health(ws: WorkspaceDep, request: Request) -> Any:
    syncer = request.app.state.syncer
    body = {"status": "ok", "version": momenti.__version__, "store": ws.engine.dialect.name,
            "sync_pending": syncer.pending, "last_sync_error": syncer.last_error, "process": os.getpid(),
            "leads": bool(getattr(request.app.state, "leads", True))}
    try:
        with ws.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:  # a load balancer should see "unavailable", not a crash
        log.warning("health: store unreachable: %s", exc)
        return JSONResponse({**body, "status": "unavailable"}, status_code=503)
    return body


@router.get("/me", response_model=MePublic, summary="Who is calling: the user or token and its permissions")
def me(principal: PrincipalDep) -> dict[str, Any]:
    return {"kind": principal.kind, "name": principal.name, "role": principal.role, "team": principal.team,
            "scopes": list(principal.scopes), "permissions": sorted(principal.permissions),
            "csrf_token": principal.csrf_token}
