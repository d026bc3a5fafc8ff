"""Users and teams: create, list, disable/enable, change role, set a password, one-time set-password links.

Functions take a Session and do not commit (the caller owns the transaction); every change is audited in the
same transaction. Disabling a user ends their sessions at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.config import Settings
from momenti.core.errors import ConflictError, InputError, NotFoundError
from momenti.domains import audit
from momenti.domains.access.passwords import check_password, hash_password
from momenti.domains.access.permissions import check_role
from momenti.store.access import LoginSession, PasswordLink, Team, User

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
LINK_BYTES = 32


def normal_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise InputError(f"e-mail {email!r}: not an e-mail address")
    return email


def get_team(session: Session, name: str, create: bool = True) -> Team:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InputError("team: give 1 to 200 characters")
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        if not create:
            raise NotFoundError(f"no team {name!r}")
        team = Team(name=name, created_at=utcnow())
        session.add(team)
        session.flush()
    return team


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFoundError(f"no user {email.strip()!r}")
    return user


def create_user(session: Session, email: str, role: str, actor: str, team: str | None = None,
                password: str | None = None) -> User:
    email, role = normal_email(email), check_role(role)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"a user {email} exists already")
    if password is not None:
        check_password(password, email)
    team_row = get_team(session, team) if team else None
    user = User(email=email, role=role, team_id=team_row.id if team_row else None,
                password_hash=hash_password(password) if password is not None else None, created_at=utcnow(),
                failed_logins=0)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", email, {"role": role, "team": team_row.name if team_row else None,
                                                         "password_set": password is not None})
    return user


def list_users(session: Session) -> list[tuple[User, str | None]]:
    rows = session.execute(select(User, Team.name).outerjoin(Team, Team.id == User.team_id).order_by(User.email))
    return [(u, t) for u, t in rows]


def end_sessions(session: Session, user_id: int) -> int:
    result = session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                                        LoginSession.ended_at.is_(None)).values(ended_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_disabled(session: Session, email: str, disabled: bool, actor: str) -> User:
    user = find_user(session, email)
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        ended = end_sessions(session, user.id)
        audit.record(session, actor, "user.disable", user.email, {"sessions_ended": ended})
    elif not disabled and user.disabled_at is not None:
        user.disabled_at = None
        user.failed_logins, user.locked_until = 0, None
        audit.record(session, actor, "user.enable", user.email)
    session.flush()
    return user


def set_role(session: Session, email: str, role: str, actor: str, team: str | None = None) -> User:
    user = find_user(session, email)
    before = user.role
    user.role = check_role(role)
    if team is not None:
        user.team_id = get_team(session, team).id if team.strip() else None
    # A changed role takes effect at once: the user signs in again with the new permissions.
    end_sessions(session, user.id)
    audit.record(session, actor, "user.set_role", user.email, {"from": before, "to": user.role, "team": team})
    session.flush()
    return user


def set_password(session: Session, user: User, password: str, actor: str) -> None:
    check_password(password, user.email)
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    end_sessions(session, user.id)
    audit.record(session, actor, "user.set_password", user.email)
    session.flush()


def _link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_link(session: Session, email: str, settings: Settings, actor: str) -> str:
    """A new one-time set-password link for the user, `{public_url}/password?token=...`, valid
    MOMENTI_PASSWORD_LINK_HOURS (earlier unused links stop working). Only the token's hash is kept."""
    user = find_user(session, email)
    now = utcnow()
    session.execute(update(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
                    .values(used_at=now))
    token = secrets.token_urlsafe(LINK_BYTES)
    session.add(PasswordLink(token_hash=_link_hash(token), user_id=user.id, created_at=now,
                             expires_at=now + dt.timedelta(hours=settings.password_link_hours)))
    session.flush()
    audit.record(session, actor, "user.password_link", user.email, {"hours": settings.password_link_hours})
    return f"{settings.public_url.rstrip('/')}/password?token={token}"


def link_user(session: Session, token: str) -> tuple[PasswordLink, User]:
    """The link and its user, if the token is valid (unused, not expired); InputError otherwise."""
    link = session.get(PasswordLink, _link_hash(token)) if token and len(token) < 200 else None
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        raise InputError("this set-password link is not valid (used, expired or mistyped); ask for a new one")
    user = session.get(User, link.user_id)
    if user is None or user.disabled_at is not None:
        raise InputError("this set-password link is not valid: the account is disabled")
    return link, user


def use_link(session: Session, token: str, password: str) -> User:
    link, user = link_user(session, token)
    set_password(session, user, password, f"user:{user.email}")
    link.used_at = utcnow()
    session.flush()
    return user
