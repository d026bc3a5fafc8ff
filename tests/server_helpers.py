"""The app served by a real uvicorn in a thread of the test process, on a free loopback port: for tests that
need real HTTP (keep-alive connections, a fuzzer over the wire) and still monkeypatch the app in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from browser_helpers import free_port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Base URL of `app` under uvicorn (lifespan on: the writer and the sync run) until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", timeout_keep_alive=30))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "uvicorn did not stop"
