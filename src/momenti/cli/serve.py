"""momenti serve: the web app and REST API (uvicorn), in one process or several (`--workers N`)."""

from __future__ import annotations

import typer

from momenti.cli.output import console


def serve(
    host: str = typer.Option(None, "--host", help="Interface to listen on (default: MOMENTI_HOST, else 127.0.0.1)"),
    port: int = typer.Option(None, "--port", help="TCP port (default: MOMENTI_PORT, else 8000)"),
    workers: int = typer.Option(None, "--workers", min=1, max=64,
                                help="Server processes sharing the port (default: MOMENTI_WORKERS, else 1). One "
                                     "of them runs the background work; see docs/deployment.md"),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)"),
) -> None:
    """Serve the overview page at /, the REST API at /api/v1 and its docs at /docs."""
    import uvicorn

    # Settings are read here, not when the CLI starts: pydantic-settings costs every other command ~0.3 s.
    from momenti.core.config import get_settings
    from momenti.server.topology import check_topology

    settings = get_settings()
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    problem = check_topology(settings, workers, reload)
    if problem:
        console.print(f"[red]cannot serve:[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)

    shown = f"[{host}]" if ":" in host else host
    many = f", {workers} processes" if workers > 1 else ""
    console.print(f"momenti serving http://{shown}:{port}  (API docs: http://{shown}:{port}/docs{many})",
                  highlight=False, soft_wrap=True)
    console.file.flush()  # seen at once by whoever started us (a supervisor, a test), not at exit
    options = {"host": host, "port": port, "access_log": settings.access_log,
               "forwarded_allow_ips": settings.forwarded_allow_ips, "proxy_headers": True}
    if workers > 1:
        # Child processes that import the app by name; the factory reads MOMENTI_* itself (inherited).
        from momenti.server.workers import run_workers

        raise typer.Exit(run_workers(workers, options, settings.data_dir, background=settings.jobs_embedded))
    if reload:
        uvicorn.run("momenti.server.app:create_app", factory=True, reload=True, **options)
    else:
        from momenti.server.app import create_app

        uvicorn.run(create_app(), **options)
