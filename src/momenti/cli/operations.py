"""momenti backup / restore: a consistent copy of a deployment while it serves, and putting it back (verified)."""

from __future__ import annotations

from pathlib import Path

import typer

from momenti.cli.output import console, err_console


def backup(target: Path = typer.Argument(..., help="A new (or empty) directory for the backup")) -> None:
    """Back up the store (SQLite online backup, or pg_dump), the warehouse, the secret key and the models."""
    import momenti
    from momenti.domains import audit
    from momenti.domains.operations.backup import backup as run

    with momenti.open() as ws:
        manifest = run(ws, target)
        with ws.session() as s, s.begin():
            audit.record(s, audit.cli_actor(), "backup.create", str(target)[:400],
                         {"rows": sum(manifest["tables"].values())})
    console.print(f"{target}: {manifest['store']} store ({sum(manifest['tables'].values()):,} rows in "
                  f"{len(manifest['tables'])} tables), warehouse {manifest['warehouse']}, "
                  f"{len(manifest['files'])} other files", highlight=False)


def restore(source: Path = typer.Argument(..., help="A directory written by momenti backup"),
            force: bool = typer.Option(False, "--force", help="Overwrite a data directory (or database) that is "
                                       "not empty")) -> None:
    """Restore a backup into this deployment's data directory (and database), then verify every table."""
    import momenti
    from momenti.core.config import get_settings
    from momenti.domains import audit
    from momenti.domains.operations.backup import check
    from momenti.domains.operations.backup import restore as run

    done = run(get_settings(), source, force)
    with momenti.open() as ws:  # migrations of a backup made by an older version run here
        if done["rebuild_warehouse"]:
            ws.sync(rebuild=True)
        problems = check(ws.engine, done["manifest"])
        with ws.session() as s, s.begin():
            audit.record(s, audit.cli_actor(), "backup.restore", str(source)[:400], {"ok": not problems})
    for p in problems:
        err_console.print(f"  differs: {p}", highlight=False)
    if problems:
        raise typer.Exit(1)
    m = done["manifest"]
    console.print(f"restored {sum(m['tables'].values()):,} rows of {len(m['tables'])} tables from {source} "
                  f"(backup of {m['created_at']}); every table's rows equal the backup's; warehouse "
                  + ("rebuilt" if done["rebuild_warehouse"] else "copied"), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
