"""Loyalty battery, net shifts, loyalty index and price-switch thresholds."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/analysis/loyalty", tags=["loyalty"])
