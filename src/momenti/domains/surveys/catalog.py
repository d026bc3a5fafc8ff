"""The survey templates shipped with momenti (package data), listed and read without building the survey
models: pydantic's model construction alone costs the CLI ~0.4 s at start-up."""

from __future__ import annotations

from importlib import resources

from momenti.core.errors import InputError

TEMPLATES = ("nps-relationship", "touchpoint-csat-ces", "after-call", "loyalty-battery", "complaint-recovery")


def template_text(name: str) -> str:
    """The YAML of a shipped template (package data: src/momenti/domains/surveys/templates<name>.yaml)."""
    if name not in TEMPLATES:
        raise InputError(f"unknown survey template {name!r}: choose one of {', '.join(TEMPLATES)}")
    return resources.files("momenti.domains.surveys").joinpath("templates", f"{name}.yaml").read_text(encoding="utf-8")
