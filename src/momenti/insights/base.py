"""What a question family reads of the Workspace it is part of.

Each family (`insights/<family>/questions.py`) is a class the Workspace is built from; it reaches the data only
through these members, declared here once so that every family is type-checked against them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from momenti.core.config import Settings
    from momenti.store.raw import RawConnection
    from momenti.warehouse.connection import WarehouseConnection
    from momenti.warehouse.sync import SyncReport


class WorkspaceQuestions:
    settings: Settings

    if TYPE_CHECKING:
        def warehouse(self) -> AbstractContextManager[WarehouseConnection]: ...

        def raw(self) -> RawConnection: ...

        def session(self) -> Session: ...

        def sync(self, rebuild: bool = False, progress: object = None, compact: bool = False) -> SyncReport: ...
