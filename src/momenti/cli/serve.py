"""momenti serve: the web app and REST API (uvicorn)."""

from __future__ import annotations

import typer

from momenti.cli.output import console
from momenti.config import Settings, get_settings

try:  # defaults shown in --help follow MOMENTI_HOST / MOMENTI_PORT
    _defaults = get_settings()
except Exception:  # noqa: BLE001 - a bad MOMENTI_* value must not break every other command at import
    _defaults = Settings.model_construct()


def serve(
    host: str = typer.Option(_defaults.host, "--host", help="Interface to listen on (MOMENTI_HOST)"),
    port: int = typer.Option(_defaults.port, "--port", help="TCP port (MOMENTI_PORT)"),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)"),
) -> None:
    """Serve the overview page at /, the REST API at /api/v1 and its docs at /docs."""
    import uvicorn

    shown = f"[{host}]" if ":" in host else host
    console.print(f"momenti serving http://{shown}:{port}  (API docs: http://{shown}:{port}/docs)", highlight=False,
                  soft_wrap=True)
    console.file.flush()  # seen at once by whoever started us (a supervisor, a test), not at exit
    if reload:
        # Reload runs the app in a child process that imports it by name; the factory reads MOMENTI_* itself.
        uvicorn.run("momenti.api.app:create_app", factory=True, host=host, port=port, reload=True)
    else:
        from momenti.api.app import create_app

        uvicorn.run(create_app(), host=host, port=port)
