"""momenti: a self-hosted Moments-of-Truth customer-experience platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Workspace", "open", "__version__"]

if TYPE_CHECKING:
    from momenti.workspace import Workspace, open


def __getattr__(name: str) -> Any:  # noqa: ANN401
    # Loaded on first use, not on `import momenti`: the workspace pulls in pandas, SQLAlchemy, DuckDB and Arrow
    # (~2 s), which CLI commands that compute nothing (`momenti journey template`, `--help`) never need.
    if name in ("Workspace", "open"):
        from momenti import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module 'momenti' has no attribute {name!r}")
