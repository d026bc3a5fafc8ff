"""The journey templates shipped with momenti (package data), listed and read without loading the store:
`momenti journey template` starts in a fraction of a second."""

from __future__ import annotations

from importlib import resources

from momenti.core.errors import InputError

TEMPLATES = ("bank", "telco", "airline")


def template_text(name: str) -> str:
    if name not in TEMPLATES:
        raise InputError(f"unknown template {name!r}; choose one of: {', '.join(TEMPLATES)}")
    return (resources.files("momenti.domains.journey_map") / "templates" / f"{name}.yaml").read_text("utf-8")
