"""Moments-of-truth analysis: key drivers, penalty-reward, quadrant, dissonance."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/analysis", tags=["analysis"])
