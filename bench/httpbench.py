"""What the HTTP benchmarks share: a `momenti serve` subprocess on a free port, and a minimal keep-alive client.

httpx costs ~1 ms of CPU per request, which on a 2-core machine would measure the load generator rather than
the server: the client here is a few lines of HTTP/1.1 on asyncio streams.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def momenti_server(data: Path, **env: str) -> Iterator[int]:
    """`momenti serve` on the data directory `data` (extra environment `env`); yields its port once
    /api/v1/health answers. Stopped with SIGINT: graceful, the pending warehouse sync is flushed."""
    with momenti_process(data, **env) as (port, _):
        yield port


@contextmanager
def momenti_process(data: Path, **env: str) -> Iterator[tuple[int, subprocess.Popen]]:
    """momenti_server, yielding the port and the server's process (to read its memory, say)."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "momenti"), "serve", "--port", str(port)],
                              env={**os.environ, "MOMENTI_DATA_DIR": str(data), **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield port, server
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


class Connection:
    """One HTTP/1.1 keep-alive connection; `headers` are sent with every request. `request` returns the
    status, the response headers (lower-case names), the body and the time to the first byte."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port, self.headers = host, port, dict(headers or {})
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                      ) -> tuple[int, dict[str, str], bytes, float]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sent = {**self.headers, **(headers or {})}
        if method == "POST":
            sent["Content-Length"] = str(len(body))
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sent.items())
        t0 = time.perf_counter()
        self.writer.write((head + "\r\n").encode() + body)
        assert self.reader is not None
        status_line = await self.reader.readuntil(b"\r\n")
        ttfb = time.perf_counter() - t0
        got: dict[str, str] = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            got[name.strip().lower()] = value.strip()
        if "chunked" in got.get("transfer-encoding", ""):
            data = b""
            while (size := int((await self.reader.readuntil(b"\r\n")).strip(), 16)):
                data += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            data = await self.reader.readexactly(int(got.get("content-length", 0)))
        return int(status_line.split()[1]), got, data, ttfb
