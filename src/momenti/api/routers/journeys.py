"""Journey analytics from the interaction log (process mining)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/journeys", tags=["journeys"])
