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
        # OSError (a name too long, a folder) and UnicodeDecodeError (not UTF-8) leaked out of here.
        try:
            if not path.exists():
                raise InputError(f"{path}: no such file")
            text, label = path.read_text(encoding="utf-8"), label or str(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start:,}); save it as UTF-8") from None
    label = label or default_label
    try:
        return yaml.safe_load(text), label
    except yaml.YAMLError as exc:
        raise InputError(f"{label}: not valid YAML: {exc}") from None
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        # A value PyYAML resolves but cannot build leaked out as whatever its constructor raised: a date
        # 2025-13-01 (ValueError), `!!bool x` (KeyError), `!!int ""` (IndexError), `!!timestamp x` (AttributeError).
        raise InputError(f"{label}: not valid YAML: a value cannot be read ({type(exc).__name__}: {exc})") from None
    except RecursionError:  # PyYAML composes nested collections recursively: "[[[[..." leaked out
        raise InputError(f"{label}: not valid YAML: nested too deeply") from None
