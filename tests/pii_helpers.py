"""What the on-arrival masking tests share: a comment carrying an e-mail address, a phone number and an IBAN, a
scan of every column of every table of the store and the warehouse for a plain copy of any of them, and a poll
(with a deadline, no fixed sleep) until the comments are masked everywhere and analysed."""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpx
import pandas as pd
import sqlalchemy as sa

import momenti

EMAIL, PHONE, IBAN = "anna.neri.7781@example.org", "+39 347 123 4567", "IT60 X054 2811 1010 0000 0123 456"
PII = (EMAIL, PHONE, IBAN)
PLACEHOLDERS = ("[EMAIL]", "[PHONE]", "[IBAN]")


def wait_idle(base: str, timeout: float = 60.0) -> None:
    """Wait until the server at `base` has finished its start-up background work (the catch-up sync and loading
    the text engines, which a freshly started server's first comment waits for: a few seconds, once per
    process), so what a test then times is how long a running server takes to mask a comment."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{base}/api/v1/health", timeout=5).json()["sync_pending"]:
        assert time.monotonic() < deadline, "the server's start-up sync did not finish"
        time.sleep(0.1)


def pii_comment(tail: str) -> str:
    return f"Chiamatemi al {PHONE} o scrivete a {EMAIL}, IBAN {IBAN}. {tail}"


def _patterns(needles: Iterable[str]) -> list[str]:
    # Spaces are dropped on both sides: an IBAN or a phone number copied without its spaces is a copy too.
    return [f"%{n.replace(' ', '')}%" for n in needles]


def _scan_sql(engine: sa.Engine, label: str, needles: Iterable[str]) -> list[str]:
    """Every column of every table (cast to text, so JSON and other types are read too) of a SQLAlchemy database."""
    patterns = _patterns(needles)
    found: list[str] = []
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        for table in inspector.get_table_names():
            for col in inspector.get_columns(table):
                value = f"replace(CAST(\"{col['name']}\" AS TEXT), ' ', '')"
                where = " OR ".join(f"{value} LIKE :p{i}" for i in range(len(patterns)))
                n = conn.execute(sa.text(f'SELECT count(*) FROM "{table}" WHERE {where}'),
                                 {f"p{i}": p for i, p in enumerate(patterns)}).scalar()
                if n:
                    found.append(f"{label} {table}.{col['name']}: {n}")
    return found


def _scan_duckdb(ws: momenti.Workspace, needles: Iterable[str]) -> list[str]:
    patterns = _patterns(needles)
    found: list[str] = []
    with ws.warehouse() as wh:
        con = wh.duck
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'main'").fetchall()
        for table, col in columns:
            value = f"replace(CAST(\"{col}\" AS VARCHAR), ' ', '')"
            where = " OR ".join(f"{value} LIKE ?" for _ in patterns)
            (n,) = con.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', patterns).fetchone()
            if n:
                found.append(f"warehouse {table}.{col}: {n}")
    return found


def plain_copies(ws: momenti.Workspace, needles: Iterable[str] = PII, warehouse: bool = True) -> list[str]:
    """Where any of `needles` is stored in plain text: "store|warehouse <table>.<column>: <rows>"."""
    needles = list(needles)
    found = _scan_sql(ws.engine, "store", needles)
    url = ws.settings.warehouse
    if not warehouse:
        return found
    if url.startswith("duckdb://"):
        return found + _scan_duckdb(ws, needles)
    engine = sa.create_engine(url.replace("postgres://", "postgresql+psycopg://", 1))
    try:
        return found + _scan_sql(engine, "warehouse", needles)
    finally:
        engine.dispose()


def analysed(ws: momenti.Workspace, tails: Iterable[str]) -> pd.DataFrame:
    """The comments (ws.comments) whose masked text contains one of `tails`."""
    comments = ws.comments(limit=10**6)
    if comments.empty:
        return comments
    mask = pd.Series(False, index=comments.index)
    for tail in tails:
        mask |= comments["masked_text"].str.contains(tail, regex=False, na=False)
    return comments[mask]


def wait_masked(ws: momenti.Workspace, tails: list[str], timeout: float = 15.0) -> tuple[float, list[str],
                                                                                     pd.DataFrame]:
    """Poll until no plain copy of the PII is left and every comment ending in one of `tails` is analysed, or
    `timeout` seconds pass. Returns (seconds taken, plain copies left, the analysed comments)."""
    started = time.monotonic()
    while True:
        # The store first, and the warehouse only once the store is clean: a DuckDB file is opened by one
        # process at a time, so scanning it all the while would hold up the very sync being waited for.
        left, mine = plain_copies(ws, warehouse=False), pd.DataFrame()
        if not left:
            left = plain_copies(ws)
        if not left:
            mine = analysed(ws, tails)
        if (not left and len(mine) == len(tails)) or time.monotonic() - started > timeout:
            return time.monotonic() - started, left, mine
        time.sleep(0.25)


def check_analysed(mine: pd.DataFrame, tails: list[str]) -> None:
    """Each comment of `tails` is there once, masked (every placeholder, no PII), with a sentiment and topics."""
    assert len(mine) == len(tails), mine
    for row in mine.itertuples():
        for placeholder in PLACEHOLDERS:
            assert placeholder in row.masked_text, row.masked_text
        assert not any(p in row.masked_text for p in PII)
        assert row.sentiment in ("positive", "neutral", "negative")
        assert isinstance(row.topics, str) and row.topics.strip(), row.masked_text  # "topic, topic"
