"""The audit log: every admin action, sign-in event and read of personal data is written here, and only here.

`record` joins the caller's transaction (a Session or a Core Connection), so the entry commits or rolls back
with the action it describes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.store.access import AuditEntry


def record(conn: Session | Connection, actor: str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, ip: str | None = None) -> None:
    """One audit entry. `actor`: "user:<email>", "token:<name>", "cli:<user>" or "system"; `action`: a dotted
    verb ("user.create", "login.locked", "comments.read")."""
    conn.execute(insert(AuditEntry.__table__).values(at=utcnow(), actor=actor[:400], action=action[:100],
                                                     target=(target or None) and target[:400], detail=detail,
                                                     ip=ip))


def cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still an actor
        return "cli:unknown"
