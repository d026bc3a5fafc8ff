"""Engines and migrations for the store (SQLite embedded by default, PostgreSQL by URL)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from momenti.store.raw import guard_sqlite_engine

MIGRATIONS = Path(__file__).parent / "alembic"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, pooled: bool = False) -> Engine:
    """`pooled`: keep SQLite connections open between uses (the server, which never opens ADBC); without
    it a sqlite3 connection lives only while used, so ADBC's SQLite may open between uses (store/raw.py)."""
    if is_sqlite(url):
        db_path = url.split("///", 1)[1] if "///" in url else ""
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        # A connection costs ~0.5 ms to open and set up: more than a small API write itself.
        pool = {"pool_size": 32, "max_overflow": 32} if pooled else {"poolclass": NullPool}
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **pool)
        guard_sqlite_engine(engine)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            # WAL lets readers go on while an import writes; foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str):  # noqa: ANN201 - an alembic Config (alembic imported only when needed)
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions() -> set[str]:
    """The newest migration(s), read from the files' `revision`/`down_revision` lines: knowing whether a
    store is up to date then costs one query, not loading Alembic (~0.2 s on every command)."""
    revs, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        down = re.search(r"^down_revision\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        if rev:
            revs.add(rev[1])
        if down:
            downs.add(down[1])
    return revs - downs


def _current_revisions(engine: Engine) -> set[str]:
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # no table yet (a new store), or unreadable: let Alembic decide
        return set()


def migrate(engine: Engine) -> None:
    """Bring the store schema to the newest migration (idempotent)."""
    heads = head_revisions()
    if heads and _current_revisions(engine) == heads:
        return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def reserve_ids(session: Session, table: str, n: int) -> list[int]:
    """`n` fresh values of `table`'s integer primary key `id`, for a multi-row insert that needs its ids without
    RETURNING (SQLite cannot return them in parameter order, so SQLAlchemy sends one INSERT per row).
    PostgreSQL: taken from the column's sequence, so nobody else gets them. SQLite: after the largest id; a
    writer that takes one meanwhile makes the insert fail on the primary key (an IntegrityError to retry on),
    never a row written twice."""
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                    "FROM generate_series(1, :n)"), {"n": n}).scalars()
        return sorted(int(i) for i in rows)
    top = int(session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())
    return list(range(top + 1, top + 1 + n))


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """A multi-row INSERT of `rows` (dicts with the same keys) through the session's connection, as one
    executemany of plain tuples. Each value goes through its column type's own bind processor (JSON, dates:
    stored exactly as an ORM insert stores them); what is skipped is SQLAlchemy's per-row parameter
    compilation, which costs more than the database's work for tens of thousands of rows (bench/loop.py)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    names = list(rows[0])
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    columns = [[r[n] for r in rows] for n in names]
    values = [col if proc is None else [proc(v) for v in col] for col, proc in zip(columns, processors,
                                                                                   strict=True)]
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in the URL if it does not exist (used by tests and demo)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()
