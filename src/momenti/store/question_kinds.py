"""The kinds of question an answer can be, and the fixed scales of the standard scores: one definition that
imports (ingest.specs), surveys and the warehouse's mapping file all read. Kept apart from models.py so that
reading them loads no SQLAlchemy."""

from __future__ import annotations

# A value of a standard score question must be an integer in [lo, hi].
SCORE_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
