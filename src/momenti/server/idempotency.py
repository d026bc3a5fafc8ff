"""Idempotency-Key: the first answer to a write is stored and replayed for a retry with the same key.

Keys are scoped to the token (two clients cannot collide) and remember the endpoint and a hash of the body:
the same key with another body or on another endpoint is a client bug, answered 409 rather than guessed at.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momenti.core.errors import ConflictError, InputError
from momenti.store.access import IdempotencyKey

MAX_KEY_LEN = 200


@dataclass
class Stored:
    status_code: int
    body: Any


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LEN:
        raise InputError(f"Idempotency-Key: give 1 to {MAX_KEY_LEN} characters")
    return key


def _match(row: IdempotencyKey, endpoint: str, request_hash: str) -> Stored:
    if row.endpoint != endpoint or row.request_hash != request_hash:
        raise ConflictError(f"Idempotency-Key {row.key!r} was already used with a different request "
                            f"({row.endpoint}); use a new key for a new request")
    return Stored(row.status_code, json.loads(row.body))


def lookup(engine: Engine, token_id: int, key: str, endpoint: str, request_hash: str) -> Stored | None:
    """The stored answer for this key, None if the key is new; ConflictError if it was used differently."""
    with Session(engine) as s:
        row = s.get(IdempotencyKey, (key, token_id))
        return None if row is None else _match(row, endpoint, request_hash)


def remember(engine: Engine, token_id: int, key: str, endpoint: str, request_hash: str, status_code: int,
             body: Any) -> Stored:
    """Store the answer. If a concurrent request with the same key stored first, its answer wins (and is
    returned), so both callers see one consistent result; record ids kept the data itself single."""
    row = IdempotencyKey(key=key, token_id=token_id, endpoint=endpoint, request_hash=request_hash,
                         status_code=status_code, body=json.dumps(body, ensure_ascii=False),
                         created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    try:
        with Session(engine) as s, s.begin():
            s.add(row)
    except IntegrityError:
        with Session(engine) as s:
            first = s.get(IdempotencyKey, (key, token_id))
            if first is None:  # pragma: no cover - the conflicting row vanished; nothing better to return
                raise
            return _match(first, endpoint, request_hash)
    return Stored(status_code, body)
