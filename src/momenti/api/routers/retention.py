"""Retention: customer outcomes, Kaplan-Meier curves, log-rank tests and Cox models."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/analysis/retention", tags=["retention"])
