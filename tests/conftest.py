"""Fixtures: each test gets a fresh workspace on SQLite, and store/metric tests on PostgreSQL too.

PostgreSQL: the local server (127.0.0.1:5432, user postgres, trust). The session creates its own database
and drops it at the end; each test starts from empty tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import momenti
from api_helpers import Api, make_api
from momenti.store.db import ensure_postgres_database

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "src" / "momenti" / "domains" / "journey_map" / "templates" / "bank.yaml"
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_SERVER = os.environ.get("MOMENTI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's MOMENTI_* settings."""
    for key in list(os.environ):
        if key.startswith("MOMENTI_") and key != "MOMENTI_TEST_PG":
            monkeypatch.delenv(key, raising=False)


def _drop_database(url: str) -> None:
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = f"{PG_SERVER}/momenti_test_{os.getpid()}"
    _drop_database(url)
    ensure_postgres_database(url)
    yield url
    _drop_database(url)


@pytest.fixture
def pg_warehouse_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL database of its own for a warehouse (an Ibis URL), empty at the start and dropped after."""
    url = pg_url.replace("momenti_test_", "momenti_wh_test_")
    _drop_database(url)
    ensure_postgres_database(url)
    u = make_url(url)
    yield f"postgres://{u.username}@{u.host}:{u.port}/{u.database}"
    _drop_database(url)


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_workspace(tmp_path: Path, backend: str, request: pytest.FixtureRequest | None = None,
                   **settings: object) -> momenti.Workspace:
    if backend == "postgres":
        assert request is not None
        url = request.getfixturevalue("pg_url")
        ws = momenti.open(url, data_dir=tmp_path / "data", **settings)
        _empty_postgres(url)
        return ws
    return momenti.open(tmp_path / "data", **settings)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[momenti.Workspace]:
    """A SQLite workspace with the bank journey applied."""
    ws = momenti.open(tmp_path / "data")
    ws.apply_journey(BANK)
    yield ws
    ws.close()


@pytest.fixture(params=["sqlite", "postgres"])
def ws_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[momenti.Workspace]:
    """The same test on a SQLite store and on a PostgreSQL store, bank journey applied."""
    ws = make_workspace(tmp_path, request.param, request)
    ws.apply_journey(BANK)
    yield ws
    ws.close()


def demo_workspace(data_dir: Path, size: str = "small", seed: int = 42) -> momenti.Workspace:
    """A workspace holding the demo data (its journey map and every generated row, none rejected)."""
    from momenti.demo import generate

    data = generate(size=size, seed=seed)
    ws = momenti.open(data_dir)
    ws.apply_journey(data.journey)
    for kind, table in data.tables().items():
        summary = ws.import_table(kind, table, source=f"demo:{kind}")
        assert summary.rejected == 0, summary.errors[:5]
        assert summary.added == table.num_rows
    return ws


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[momenti.Workspace]:
    """The small demo, one per test module (a module may change it: a trained model, new answers)."""
    ws = demo_workspace(Path(tmp_path_factory.mktemp("demo")) / "data")
    yield ws
    ws.close()


@pytest.fixture
def bank_journey() -> Path:
    return BANK


@pytest.fixture
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the shared data folder is missing: {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture
def browser() -> Iterator:
    """Debian's Chromium through Playwright (never `playwright install`), for the real-browser tests."""
    from playwright.sync_api import sync_playwright

    from browser_helpers import CHROMIUM, CHROMIUM_ARGS

    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def api(ws_any: momenti.Workspace) -> Iterator[Api]:
    """The REST API (an admin token) on a SQLite and a PostgreSQL store (tests/api_helpers.py)."""
    yield from make_api(ws_any)


@pytest.fixture
def api_sqlite(workspace: momenti.Workspace) -> Iterator[Api]:
    yield from make_api(workspace)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per test module for the files hypothesis examples write (they do not mix with the
    function-scoped tmp_path)."""
    return Path(tmp_path_factory.mktemp("parser-properties"))
