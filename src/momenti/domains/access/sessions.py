"""Sign-in sessions: a password check with lockout, an opaque random session id (only its hash is stored),
idle and absolute timeouts, and the per-session CSRF token.

`Principal` is what a request acts as: a signed-in user or an API token, with the permissions it holds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.config import Settings
from momenti.domains import audit
from momenti.domains.access.passwords import verify_password
from momenti.domains.access.permissions import role_permissions, scope_permissions
from momenti.store.access import LoginSession, Team, User

SESSION_BYTES = 32
# last_seen_at is written at most this often: a page and its assets would otherwise be a store write each.
SEEN_RESOLUTION = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "token"
    id: int
    name: str  # e-mail or token name
    permissions: frozenset[str]
    role: str | None = None  # users only
    team_id: int | None = None
    team: str | None = None
    scopes: tuple[str, ...] = ()  # tokens only
    csrf_token: str | None = None  # sessions only

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    def allows(self, permission: str) -> bool:
        return permission in self.permissions


def token_principal(token_id: int, name: str, scopes: tuple[str, ...]) -> Principal:
    return Principal("token", token_id, name, scope_permissions(scopes), scopes=scopes)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def sign_in(session: Session, settings: Settings, email: str, password: str, ip: str | None = None,
            user_agent: str | None = None) -> str | None:
    """Check the password; on success a new session id (to put in the cookie, never stored), else None.
    A refusal is a return value, not an exception: the caller commits either way, so failures, the lockout
    and their audit entries are kept. Every refusal looks the same to the caller (no account probing)."""
    now = utcnow()
    email = email.strip().lower()[:320]
    user = session.scalar(select(User).where(User.email == email))
    reason = ("unknown" if user is None else "disabled" if user.disabled_at is not None
              else "locked" if user.locked_until is not None and user.locked_until > now else None)
    if user is None or reason is not None:
        verify_password(password, None)  # the same time as a real check
        audit.record(session, f"user:{email}", "login.failed", email, {"reason": reason}, ip=ip)
        return None
    if not verify_password(password, user.password_hash):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
            audit.record(session, f"user:{email}", "login.locked", email,
                         {"minutes": settings.login_lockout_minutes}, ip=ip)
        else:
            audit.record(session, f"user:{email}", "login.failed", email,
                         {"reason": "password", "failures": user.failed_logins}, ip=ip)
        return None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    sid = secrets.token_urlsafe(SESSION_BYTES)
    session.add(LoginSession(id_hash=session_hash(sid), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                             created_at=now, last_seen_at=now, user_agent=(user_agent or "")[:300] or None))
    audit.record(session, f"user:{email}", "login", email, ip=ip)
    session.flush()
    return sid


def resolve(conn: Connection, settings: Settings, session_id: str) -> Principal | None:
    """The signed-in user of a session cookie, or None (unknown, ended, timed out, user disabled)."""
    if not session_id or len(session_id) > 200:
        return None
    s, u = LoginSession.__table__, User.__table__
    row = conn.execute(
        select(s.c.id_hash, s.c.created_at, s.c.last_seen_at, s.c.ended_at, s.c.csrf_token, u.c.id, u.c.email,
               u.c.role, u.c.team_id, u.c.disabled_at, Team.__table__.c.name.label("team"))
        .join(u, u.c.id == s.c.user_id).outerjoin(Team.__table__, Team.__table__.c.id == u.c.team_id)
        .where(s.c.id_hash == session_hash(session_id))).first()
    if row is None or row.ended_at is not None or row.disabled_at is not None:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    if now - row.last_seen_at > idle or now - row.created_at > dt.timedelta(hours=settings.session_max_hours):
        conn.execute(update(s).where(s.c.id_hash == row.id_hash).values(ended_at=now))
        conn.commit()
        return None
    if now - row.last_seen_at >= SEEN_RESOLUTION:
        conn.execute(update(s).where(s.c.id_hash == row.id_hash).values(last_seen_at=now))
        conn.commit()
    return Principal("user", row.id, row.email, role_permissions(row.role), role=row.role, team_id=row.team_id,
                     team=row.team, csrf_token=row.csrf_token)


def end(session: Session, session_id: str, actor: str, ip: str | None = None) -> None:
    row = session.get(LoginSession, session_hash(session_id))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        audit.record(session, actor, "logout", None, ip=ip)
        session.flush()
