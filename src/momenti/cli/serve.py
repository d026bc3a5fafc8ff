"""momenti serve: the web app and REST API (uvicorn)."""

from __future__ import annotations

import typer

from momenti.cli.output import console


def serve(
    host: str = typer.Option(None, "--host", help="Interface to listen on (default: MOMENTI_HOST, else 127.0.0.1)"),
    port: int = typer.Option(None, "--port", help="TCP port (default: MOMENTI_PORT, else 8000)"),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)"),
) -> None:
    """Serve the overview page at /, the REST API at /api/v1 and its docs at /docs."""
    import uvicorn

    # Settings are read here, not when the CLI starts: pydantic-settings costs every other command ~0.3 s.
    from momenti.core.config import get_settings

    settings = get_settings()
    host, port = host or settings.host, port or settings.port

    shown = f"[{host}]" if ":" in host else host
    console.print(f"momenti serving http://{shown}:{port}  (API docs: http://{shown}:{port}/docs)", highlight=False,
                  soft_wrap=True)
    console.file.flush()  # seen at once by whoever started us (a supervisor, a test), not at exit
    if reload:
        # Reload runs the app in a child process that imports it by name; the factory reads MOMENTI_* itself.
        uvicorn.run("momenti.server.app:create_app", factory=True, host=host, port=port, reload=True)
    else:
        from momenti.server.app import create_app

        uvicorn.run(create_app(), host=host, port=port)
