"""Who may use momenti: teams, users, their sign-in sessions, one-time password links, and the audit log.

Kept beside `models.py` (same metadata) so the fact tables stay apart from the people who read them.
A session row holds only the SHA-256 of the cookie's random id: a copy of the store opens no session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from momenti.store.models import Base, BigId, id_column


class Team(Base):
    """A team owns touchpoints (the journey file's `owner_team`) and the cases raised at them."""

    __tablename__ = "teams"
    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # where the team works: its Friday review reminder goes at its local afternoon
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome", server_default="Europe/Rome")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = id_column()
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    # None until a password is set (a new user with a set-password link, or a single-sign-on user)
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sso_subject: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # staff notifications (alerts, escalations): immediate | daily (one digest a day) | off; their language
    notify: Mapped[str] = mapped_column(String(10), default="immediate", server_default="immediate")
    language: Mapped[str] = mapped_column(String(5), default="it", server_default="it")


class LoginSession(Base):
    __tablename__ = "login_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)


class PasswordLink(Base):
    """A one-time link to set a password (new user, reset): only its hash is kept; it expires."""

    __tablename__ = "password_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AuditEntry(Base):
    """One admin action, sign-in event or read of personal data. Written only through domains/audit.py."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(400))  # "user:<email>", "token:<name>", "cli:<os user>", "system"
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str | None] = mapped_column(String(400), nullable=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The hash chain (domains/audit.py): SHA-256 of the previous entry's hash and this entry's fields.
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The audit chain's one row (id 1): its last entry, how many entries it holds, and where it starts (the
    prev_hash of its first entry: 64 zeros, or the hash of the last entry a retention purge removed)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    base_hash: Mapped[str] = mapped_column(String(64))


# The database's own guard: no UPDATE and no DELETE of audit_log rows (purge_before lifts it for a moment).
AUDIT_GUARD_MESSAGE = "audit_log is append-only"
AUDIT_GUARD_SQLITE = {
    "audit_log_no_update": "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                           f"BEGIN SELECT RAISE(ABORT, '{AUDIT_GUARD_MESSAGE}'); END",
    "audit_log_no_delete": "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                           f"BEGIN SELECT RAISE(ABORT, '{AUDIT_GUARD_MESSAGE}'); END",
}
AUDIT_GUARD_POSTGRES_FUNCTION = ("CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
                                 f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{AUDIT_GUARD_MESSAGE}'; END $$")
AUDIT_GUARD_POSTGRES = {
    "audit_log_no_update": "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                           "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "audit_log_no_delete": "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                           "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
}


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))  # shown in listings, never the secret
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # What the token may do: a comma-separated subset of read, ingest, admin (domains/access/permissions.py).
    scopes: Mapped[str] = mapped_column(String(100), default="ingest,read")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class IdempotencyKey(Base):
    """The stored answer to a write request, replayed when the same key arrives again."""

    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
