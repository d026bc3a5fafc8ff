"""What the real-browser tests share: a `momenti serve` subprocess on a free port, and Debian's Chromium
launched by Playwright with the flags this machine needs (no sandbox as root, no background networking)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(data_dir: Path, log: Path, env: dict[str, str] | None = None, port: int | None = None) -> Iterator[str]:
    """Base URL of `momenti serve` on `data_dir` in its own process (output to `log`, `env` added to its
    environment), once it answers its health check; stopped gracefully on exit (SIGINT: the app flushes its
    pending warehouse sync), and it must exit cleanly."""
    port = port or free_port()
    env = {**os.environ, "MOMENTI_DATA_DIR": str(data_dir), "MOMENTI_SYNC_DEBOUNCE_S": "0.1", **(env or {})}
    with log.open("w") as out:  # the child keeps its own descriptor; the file is read by path
        proc = subprocess.Popen([sys.executable, "-m", "momenti.cli.main", "serve", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, f"server did not start:\n{log.read_text()}"
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    assert code == 0, log.read_text()


def keep_offline(page: Any, base: str, blocked: list[str]) -> Any:
    """Let `page` load only from the server at `base` (and data:/blob: URLs); every other request is aborted and
    its URL appended to `blocked`, so a test can assert the page needs no network."""
    host = urlparse(base).netloc

    def guard(route: Any) -> None:
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == host:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return page


def browser_sign_in(page: Any, base: str, email: str, password: str) -> None:
    """Sign in through the /login form as a person would."""
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form.signin button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"sign-in failed: {page.url}"
