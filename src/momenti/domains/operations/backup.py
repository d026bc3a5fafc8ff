"""Backups: `momenti backup DIR` takes a consistent copy while the server runs; `momenti restore DIR` puts it
back and proves it (every table's rows counted against the backup's manifest).

- The store: SQLite through its online backup API (a consistent snapshot while others read and write);
  PostgreSQL with `pg_dump --format=custom` (one snapshot), restored with `pg_restore`.
- The warehouse: a DuckDB file copied under its lock (`COPY FROM DATABASE`, so the copy is consistent);
  another warehouse (PostgreSQL, any Ibis backend) is not copied: it is a replica, rebuilt from the store at
  restore (`manifest["warehouse"]` says which).
- The data directory's other files: the deployment's secret key (without it, survey links and encrypted
  originals cannot be read), trained text models, the user taxonomy, reports sent, rejects files. The job
  queue's SQLite file is copied with the backup API too.

A restore goes into an empty data directory (and an empty PostgreSQL database), or over an existing one with
`force`. A backup holds personal data: keep it as the store is kept, and expire it by the same retention
(docs/operations.md says what an erasure means for backups).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text

from momenti.core.clock import utcnow
from momenti.core.errors import ConflictError, InputError
from momenti.warehouse.connection import copy_duckdb, duckdb_path

MANIFEST = "manifest.json"
STORE_FILE, STORE_DUMP, WAREHOUSE_FILE, FILES_DIR = "momenti.db", "store.dump", "warehouse.duckdb", "files"
SKIP_NAMES = {"momenti.db", "warehouse.duckdb", "jobs.sqlite"}


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _pg_url(url: str) -> str:
    """A libpq URL from SQLAlchemy's (postgresql+psycopg://... -> postgresql://...)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def table_counts(engine: Any, conn: Any = None) -> dict[str, int]:
    """Rows per table (through `conn` when given: counted in its snapshot)."""
    names = sorted(inspect(engine).get_table_names())
    if conn is not None:
        return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() or 0) for t in names}
    with engine.connect() as c:
        return table_counts(engine, c)


def _sqlite_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    source = sqlite3.connect(src, timeout=60)
    target = sqlite3.connect(dst)
    try:
        with target:
            source.backup(target)  # the online backup API: a consistent snapshot while others write
    finally:
        target.close()
        source.close()


def _pg_dump(url: str, dst: Path) -> dict[str, int]:
    """pg_dump of one snapshot, and the rows per table counted in that same snapshot (exported to pg_dump),
    so the manifest describes exactly what the dump holds while writes go on."""
    engine = create_engine(url)
    try:
        with engine.connect() as raw:
            conn = raw.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
                counts = table_counts(engine, conn)
                dump = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                                       f"--snapshot={snapshot}", f"--file={dst}", _pg_url(url)],
                                      capture_output=True, text=True, timeout=3600)
        if dump.returncode != 0:
            raise InputError(f"pg_dump failed: {dump.stderr.strip()[:300]}")
    finally:
        engine.dispose()
    return counts


def backup(ctx: Any, target: str | Path) -> dict[str, Any]:
    """A consistent backup of the workspace into the directory `target` (created; must be empty)."""
    out = Path(target)
    if out.exists() and any(out.iterdir()):
        raise ConflictError(f"{out} is not empty: back up into a new directory")
    out.mkdir(parents=True, exist_ok=True)
    settings = ctx.settings
    data_dir = Path(settings.data_dir)
    manifest: dict[str, Any] = {"format": 1, "created_at": utcnow().isoformat(timespec="seconds") + "Z"}
    store = _sqlite_path(settings.store_url)
    if store is not None:
        _sqlite_copy(store, out / STORE_FILE)
        manifest["store"] = "sqlite"
        manifest["tables"] = table_counts(create_engine(f"sqlite:///{out / STORE_FILE}"))
    else:
        manifest["store"] = "postgresql"
        manifest["tables"] = _pg_dump(settings.store_url, out / STORE_DUMP)
    wh = duckdb_path(settings.warehouse)
    manifest["warehouse"] = copy_duckdb(wh, out / WAREHOUSE_FILE) if wh is not None else "not a DuckDB file"
    jobs = Path(settings.jobs_file)
    if jobs.exists():
        _sqlite_copy(jobs, out / FILES_DIR / jobs.name)
    files = []
    if data_dir.exists():
        for root, _, names in os.walk(data_dir):
            for name in names:
                p = Path(root, name)
                rel = p.relative_to(data_dir)
                if rel.parts[0] in SKIP_NAMES or name.endswith(("-wal", "-shm", "-journal", ".wal", ".rewrite")):
                    continue
                dst = out / FILES_DIR / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, dst)
                files.append(str(rel))
    manifest["files"] = sorted(files)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def _empty(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


def restore(ctx_settings: Any, source: str | Path, force: bool = False) -> dict[str, Any]:
    """Put the backup `source` back into the settings' data directory (and database). The caller opens the
    workspace afterwards (migrations, then the warehouse rebuilt when the backup holds none) and compares
    `check(...)`."""
    src = Path(source)
    if not (src / MANIFEST).exists():
        raise InputError(f"{src}: not a momenti backup (no {MANIFEST})")
    manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    data_dir = Path(ctx_settings.data_dir)
    store = _sqlite_path(ctx_settings.store_url)
    if store is not None and manifest["store"] != "sqlite" or store is None and manifest["store"] != "postgresql":
        raise InputError(f"the backup's store is {manifest['store']}; this deployment's is "
                         f"{'sqlite' if store is not None else 'postgresql'}")
    if not force and not _empty(data_dir):
        raise ConflictError(f"{data_dir} is not empty: restore into an empty data directory, or give --force")
    data_dir.mkdir(parents=True, exist_ok=True)
    if store is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(store) + suffix).unlink(missing_ok=True)
        _sqlite_copy(src / STORE_FILE, store)
    else:
        if not force:
            engine = create_engine(ctx_settings.store_url)
            have = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
            engine.dispose()
            if have:
                raise ConflictError("the PostgreSQL database is not empty: restore into an empty one, or --force")
        run = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                              f"--dbname={_pg_url(ctx_settings.store_url)}", str(src / STORE_DUMP)],
                             capture_output=True, text=True, timeout=3600)
        if run.returncode != 0 and "error" in run.stderr.lower():
            raise InputError(f"pg_restore failed: {run.stderr.strip()[:300]}")
    wh = duckdb_path(ctx_settings.warehouse)
    rebuilt = True
    if wh is not None:
        for suffix in ("", ".wal"):
            Path(str(wh) + suffix).unlink(missing_ok=True)
        if (src / WAREHOUSE_FILE).exists():
            wh.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / WAREHOUSE_FILE, wh)
            rebuilt = False
    files = src / FILES_DIR
    if files.exists():
        for p in files.rglob("*"):
            if p.is_file():
                dst = data_dir / p.relative_to(files)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, dst)
    return {"manifest": manifest, "rebuild_warehouse": rebuilt}


def check(engine: Any, manifest: dict[str, Any]) -> list[str]:
    """Tables whose rows differ from the backup's counts (empty: the restore is whole)."""
    now = table_counts(engine)
    return [f"{t}: {n:,} in the backup, {now.get(t, 0):,} restored" for t, n in manifest["tables"].items()
            if now.get(t, 0) != n and t != "alembic_version"]


def age(manifest: dict[str, Any]) -> dt.timedelta:
    return utcnow() - dt.datetime.fromisoformat(manifest["created_at"].removesuffix("Z"))
