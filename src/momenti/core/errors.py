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


class ExternalWarehouseError(ConflictError):
    """The warehouse is the company's own, read through a mapping (MOMENTI_WAREHOUSE_MAPPING): momenti never writes
    there, and a question needing what only a sync would build there cannot be answered."""


READ_ONLY_MESSAGE = "the warehouse is external and read-only (MOMENTI_WAREHOUSE_MAPPING): nothing to sync"
