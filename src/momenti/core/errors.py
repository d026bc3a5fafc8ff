"""Typed errors: each maps to one CLI exit message and one HTTP status."""

from __future__ import annotations


class MomentiError(Exception):
    """Base of every error momenti reports to a user."""

    status_code = 400


class InputError(MomentiError):
    """The user's input (file, argument, query parameter) is wrong; the message says where and why."""

    status_code = 400


class NotFoundError(MomentiError):
    status_code = 404


class AuthError(MomentiError):
    status_code = 401


class ConflictError(MomentiError):
    status_code = 409


class ForbiddenError(MomentiError):
    """Signed in, but the role or the token's scopes do not allow this."""

    status_code = 403


class RateLimitError(MomentiError):
    status_code = 429
