"""Reading a YAML document given as a file, as YAML text or as a mapping (survey definitions, alert rules):
one place for the path-or-text decision and for the errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from momenti.core.errors import InputError


def read_yaml(source: str | Path | dict[str, Any], label: str | None, default_label: str) -> tuple[Any, str]:
    """(the parsed document, the label errors name it by). A string without a newline ending in .yaml, .yml
    or .json is a path; any other string is YAML text."""
    if isinstance(source, dict):
        return source, label or default_label
    text = str(source)
    if isinstance(source, Path) or ("\n" not in text and text.endswith((".yaml", ".yml", ".json"))):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such file")
        text, label = path.read_text(encoding="utf-8"), label or str(path)
    label = label or default_label
    try:
        return yaml.safe_load(text), label
    except yaml.YAMLError as exc:
        raise InputError(f"{label}: not valid YAML: {exc}") from None
