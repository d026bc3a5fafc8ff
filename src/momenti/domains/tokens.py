"""API tokens: a random secret shown once, stored only as its SHA-256 hash.

The functions take a Session and do not commit: the caller owns the transaction
(`with ws.session() as s, s.begin(): ...`), so a token operation can join other writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import ConflictError, InputError, NotFoundError
from momenti.domains.access.permissions import parse_scopes
from momenti.store.access import ApiToken

SECRET_PREFIX = "mom_"
# 30 random bytes -> 40 url-safe characters: 240 bits, far beyond guessing.
SECRET_BYTES = 30
PREFIX_LEN = 8
# Writing last_used_at on every request would make each API call a store write (SQLite has one writer).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    # A plain hash is enough: the secret is random and long, so there is nothing to brute-force (unlike a
    # password), and a fast hash keeps verification cheap on every request.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, scopes: str | tuple[str, ...] = ("ingest", "read"),
                 owner_id: int | None = None) -> tuple[ApiToken, str]:
    """A new token named `name` with `scopes` (read, ingest, admin); returns the row and the secret (never
    stored, shown only now)."""
    scopes = parse_scopes(scopes)
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError("token name: give 1 to 100 characters")
    if name.isdigit():
        raise InputError("token name: must not be only digits (revoke takes a name or a numeric id)")
    active = session.scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if active is not None:
        raise ConflictError(f"an active token named {name!r} exists; revoke it first or choose another name")
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    row = ApiToken(name=name, prefix=secret[:PREFIX_LEN], token_hash=hash_secret(secret), created_at=utcnow(),
                   scopes=",".join(scopes), owner_id=owner_id)
    session.add(row)
    session.flush()
    return row, secret


def list_tokens(session: Session, include_revoked: bool = True) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(stmt))


def revoke_token(session: Session, name_or_id: str | int) -> ApiToken:
    """Revoke by numeric id or by name (the active token of that name). Revoking twice is harmless."""
    text = str(name_or_id).strip()
    row: ApiToken | None = None
    if text.isdigit():
        row = session.get(ApiToken, int(text))
    else:
        rows = list(session.scalars(select(ApiToken).where(ApiToken.name == text).order_by(ApiToken.id)))
        active = [r for r in rows if r.revoked_at is None]
        row = active[-1] if active else (rows[-1] if rows else None)
    if row is None:
        raise NotFoundError(f"no token with name or id {text!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def verify_token(conn: Session | Connection, secret: str) -> ApiToken | None:
    """The active token with this secret, or None (unknown or revoked). `conn` is a Session or a Core
    Connection; the token returned is a plain row object (not attached to a session)."""
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    t = ApiToken.__table__
    row = conn.execute(select(t.c.id, t.c.name, t.c.prefix, t.c.revoked_at, t.c.last_used_at, t.c.scopes)
                       .where(t.c.token_hash == hash_secret(secret))).first()
    if row is None or row.revoked_at is not None:
        return None
    used, now = row.last_used_at, utcnow()
    if used is None or now - used >= LAST_USED_RESOLUTION:
        conn.execute(update(t).where(t.c.id == row.id).values(last_used_at=now))
        used = now
    return ApiToken(id=row.id, name=row.name, prefix=row.prefix, last_used_at=used, scopes=row.scopes)


def token_scopes(token: ApiToken) -> tuple[str, ...]:
    return tuple(s for s in (token.scopes or "").split(",") if s)
