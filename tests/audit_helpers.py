"""What the audit-chain tests share: real actions that write entries, verify, and tampering with the
store behind the append-only guards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, text

import momenti
from auth_helpers import add_user
from momenti.domains import audit
from momenti.domains.access.sessions import sign_in as domain_sign_in
from momenti.domains.tokens import create_token, revoke_token
from momenti.store.access import (
    AUDIT_GUARD_POSTGRES,
    AUDIT_GUARD_POSTGRES_FUNCTION,
    AUDIT_GUARD_SQLITE,
    AuditEntry,
)

PASSWORD = "Tramonto-Verde-Pino-2026"


# -- helpers ------------------------------------------------------------------------------------------------


def record_actions(ws: momenti.Workspace) -> None:
    """A few auditable things, as the application does them: tokens, users, sign-ins (good and bad)."""
    with ws.session() as s, s.begin():
        row, _ = create_token(s, "crm-export", "read")
        audit.record(s, audit.cli_actor(), "token.create", row.name, {"scopes": row.scopes})
    add_user(ws, "anna@example.com", "analyst")
    add_user(ws, "bruno@example.com", "cx_manager")
    for password in (PASSWORD, "wrong-password-123", PASSWORD):
        with ws.session() as s, s.begin():
            domain_sign_in(s, ws.settings, "anna@example.com", password, ip="10.1.2.3")
    with ws.session() as s, s.begin():
        revoked = revoke_token(s, "crm-export")
        audit.record(s, audit.cli_actor(), "token.revoke", revoked.name, {"note": "città, ünïcode", "n": [1, 2.5]})


def verify(ws: momenti.Workspace) -> audit.VerifyReport:
    with ws.session() as s:
        return audit.verify(s)


def entry_ids(ws: momenti.Workspace) -> list[int]:
    with ws.session() as s:
        return list(s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def count_entries(ws: momenti.Workspace) -> int:
    with ws.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)))


def dialect(ws: momenti.Workspace) -> str:
    return ws.engine.dialect.name


@contextmanager
def unguarded(ws: momenti.Workspace) -> Iterator[None]:
    """As an attacker with the database would: drop the append-only triggers. Put back afterwards (the
    PostgreSQL test database is shared by the whole session)."""
    pg = dialect(ws) == "postgresql"
    with ws.engine.begin() as conn:
        for name in AUDIT_GUARD_SQLITE:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}" + (" ON audit_log" if pg else "")))
    try:
        yield
    finally:
        with ws.engine.begin() as conn:
            if pg:
                conn.execute(text(AUDIT_GUARD_POSTGRES_FUNCTION))
            for name, ddl in (AUDIT_GUARD_POSTGRES if pg else AUDIT_GUARD_SQLITE).items():
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}" + (" ON audit_log" if pg else "")))
                conn.execute(text(ddl))


def tamper(ws: momenti.Workspace, *sql: tuple[str, dict[str, Any]]) -> None:
    with unguarded(ws), ws.engine.begin() as conn:
        for stmt, params in sql:
            conn.execute(text(stmt), params)
