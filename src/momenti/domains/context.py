"""What a domain needs of the workspace that calls it: the settings, the store, and a way to bring the
warehouse up to date. The Workspace (a layer above) is one; a domain never imports it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from momenti.core.config import Settings


class Context(Protocol):
    settings: Settings
    engine: Engine

    @property
    def store_url(self) -> str: ...

    def session(self) -> Session: ...

    def sync(self, rebuild: bool = False, progress: Any = None, compact: bool = False) -> Any: ...
