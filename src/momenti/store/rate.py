"""Token buckets kept in the store, so a limit holds across every server process of a deployment.

A row per key (`ip:<address>`, `link:<hash of the token>`, `login:<address>`): the tokens left and the epoch
second they were counted at. `take` is one atomic statement, an INSERT ... ON CONFLICT DO UPDATE that refills
the bucket for the time elapsed (capped at `burst`) and takes one token, with a WHERE on the update: a bucket
holding less than one token is left as it is (a refused request consumes nothing and never drives it below
zero) and the statement returns no row. A refused caller then reads the row to say how long until a token.

`forget_full` deletes the rows idle long enough to be full again (burst / rate seconds): a missing row and a
full bucket are the same thing, so the table stays small without changing any answer.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Engine, Float, String, bindparam, case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from momenti.store.models import Base


class RateBucket(Base):
    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)  # epoch seconds (the wall clock: shared by processes)


NOW, RATE, BURST = (bindparam(n, type_=Float) for n in ("b_now", "b_rate", "b_burst"))


@functools.cache
def _take_statement(dialect: str) -> Any:
    """The upsert, built once per dialect with bound parameters (the compiled form is then cached too)."""
    table = RateBucket.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tokens, updated_at = table.c.tokens, table.c.updated_at
    # the tokens at `now`: never fewer for a clock seen going backwards (another host), never over burst
    raw = tokens + case((NOW > updated_at, NOW - updated_at), else_=literal(0.0, Float)) * RATE
    refilled = case((raw > BURST, BURST), else_=raw)
    stmt = insert(table).values(key=bindparam("b_key", type_=String), tokens=BURST - literal(1.0, Float),
                                updated_at=NOW)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"tokens": refilled - literal(1.0, Float), "updated_at": case((NOW > updated_at, NOW), else_=updated_at)},
        where=refilled >= literal(1.0, Float),  # refused: the row stays as it was, and no row is returned
    ).returning(table.c.tokens)


def take(engine: Engine, key: str, rate: float, burst: float, now: float) -> tuple[bool, float]:
    """Take one token of `key`'s bucket (refilling at `rate` tokens a second up to `burst`): (allowed, seconds
    until a token is available). One short transaction."""
    table = RateBucket.__table__
    params = {"b_key": key, "b_now": float(now), "b_rate": float(rate), "b_burst": float(burst)}
    with engine.begin() as conn:
        if conn.execute(_take_statement(engine.dialect.name), params).first() is not None:
            return True, 0.0
        row = conn.execute(select(table.c.tokens, table.c.updated_at).where(table.c.key == key)).first()
    if row is None:  # deleted in between (a cleanup): the next try finds a full bucket
        return False, 1.0 / rate
    tokens = min(float(burst), row.tokens + max(0.0, now - row.updated_at) * rate)
    return False, max(1.0 - tokens, 0.0) / rate


def forget_full(engine: Engine, prefix: str, rate: float, burst: float, now: float) -> int:
    """Delete the buckets of keys starting with `prefix` that are full again by `now`; how many."""
    table = RateBucket.__table__
    # LIKE with an escape: a prefix never holds % or _ in practice, but a pattern must not depend on it.
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with engine.begin() as conn:
        result = conn.execute(delete(table).where(table.c.key.like(pattern, escape="\\"),
                                                  table.c.updated_at <= now - burst / rate))
    return int(result.rowcount or 0)
