"""Contact-centre KPIs: repeat contacts, FCR, handling time, channel switching."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/journeys", tags=["contact"])
