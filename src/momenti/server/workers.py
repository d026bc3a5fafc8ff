"""`momenti serve --workers N`: N server processes on one port, each with its own listening socket.

uvicorn's own `--workers` shares one listening socket among its processes, and whichever process wakes first
accepts every connection waiting: keep-alive clients that connect together (a load balancer's pool, a tool posting
in parallel) then all land on one process while the others idle (measured: 16 connections, 16 to 0). Here each
process binds its own socket with SO_REUSEPORT, and the kernel spreads new connections over them.

The work that must run once (the event dispatcher with the warehouse sync, the job consumer and its periodic
jobs) runs in one more process, the *background* one, which holds the leader lock (server/leader.py) as
`momenti worker` would; the serving processes are followers that queue a dispatch job after their writes. In a
serving process it would share the interpreter lock with the requests: a sync under load then held requests
for 100-250 ms at the 99th percentile, against ~20 ms with it apart (bench/http_ingest.py). With
MOMENTI_JOBS_EMBEDDED=false nobody here runs jobs: a `momenti worker` of your own does.

The supervisor (this process) imports none of the app. It reserves the port first (bound, not listening, so it
takes no connections and a port already in use is reported at once), starts the workers, passes SIGINT/SIGTERM
on as a graceful stop (each worker answers what it holds, flushes its writes and its sync, then exits), and
restarts a worker that dies while serving. A worker that dies before it ever served is a startup failure: the
others are stopped and the command exits with an error.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("momenti.server.workers")

APP = "momenti.server.app:create_app"
STARTUP_S = 60.0  # a worker gone sooner than this after its start never served
STOP_S = 60.0
STARTING_FILE = "server.starting"  # graceful stop, then SIGKILL


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(options: dict[str, Any], loaded: Any, go: Any, ready: Any) -> None:  # pragma: no cover - a child
    import uvicorn

    os.environ["MOMENTI_JOBS_EMBEDDED"] = "false"  # a follower: its writes queue dispatch jobs (module doc)

    from momenti.core.config import get_settings
    from momenti.core.locks import FileLock
    from momenti.server.app import create_app  # the slow part, imports: done by every worker before any listens

    with FileLock(get_settings().data_dir / STARTING_FILE):  # one at a time: the first migrates a new store
        app = create_app()
    # Listening before the start is announced: from then on the kernel counts this socket among the port's and
    # queues its share of new connections here until the app serves them. A socket that began listening only
    # after its app's startup missed every connection made meanwhile, and keep-alive clients never come back.
    sock = _socket(options["host"], options["port"])
    sock.listen(options.get("backlog", 2048))
    loaded.set()
    if not go.wait(STARTUP_S):
        return
    server = uvicorn.Server(uvicorn.Config(app, **options))
    original = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets=sockets)
        if server.started:  # the lifespan ran and the socket listens: tell the supervisor
            ready.set()

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


def _background(loaded: Any, go: Any, ready: Any) -> None:  # pragma: no cover - a child
    """The job consumer of the group, once this process leads; at a stop, a last dispatch of what the serving
    processes wrote (they flushed their pending signal as they stopped), so the warehouse is current at exit."""
    import threading

    from momenti.core.config import get_settings
    from momenti.pipelines.jobs import JobRunner
    from momenti.server.leader import Leadership
    from momenti.workspace import Workspace

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    settings = get_settings()
    leader = Leadership(settings.data_dir)
    loaded.set()
    while not leader.acquire_leadership():  # another server group on this data directory leads: wait our turn
        if stop.wait(1.0):
            return
    ws = Workspace(settings, bulk=False)
    lock = threading.Lock()
    runner = JobRunner(ws, lock=lock)
    runner.start()
    ready.set()
    try:
        stop.wait()
    finally:
        runner.stop()
        try:
            with lock:
                ws.sync_written()
        finally:
            ws.close()
            leader.release()


class Supervisor:
    def __init__(self, workers: int, options: dict[str, Any], background: bool = True) -> None:
        """`options`: uvicorn.Config's keyword arguments, `host` and `port` included. `background`: start the
        background process too (not when MOMENTI_JOBS_EMBEDDED=false: a `momenti worker` runs the jobs)."""
        self.n, self.options = workers, options
        self.ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no state forked from here
        self.kinds = ["server"] * workers + (["background"] if background else [])
        self.procs: list[tuple[Any, Any, float]] = []  # (process, ready event, started at), as in self.kinds
        self.go = self.ctx.Event()  # set once every first worker has loaded the app: they listen together
        self.stopping = False

    def _start(self, kind: str, loaded: Any = None) -> tuple[Any, Any, float]:
        ready = self.ctx.Event()
        loaded = loaded or self.ctx.Event()
        target, args = ((_worker, (self.options, loaded, self.go, ready)) if kind == "server"
                        else (_background, (loaded, self.go, ready)))
        proc = self.ctx.Process(target=target, args=args, name=f"momenti-{kind}", daemon=False)
        proc.start()
        return proc, ready, time.monotonic()

    def _start_all(self) -> bool:
        """Start the processes; let the servers listen once all have loaded the app. If the first to load
        served at once, clients connecting meanwhile (a pool opened at start) would all be its own for good."""
        loaded = [self.ctx.Event() for _ in self.kinds]
        self.procs = [self._start(kind, e) for kind, e in zip(self.kinds, loaded, strict=True)]
        deadline = time.monotonic() + STARTUP_S
        while not all(e.is_set() for e in loaded):
            if self.stopping or time.monotonic() > deadline or not all(p.is_alive() for p, _, _ in self.procs):
                return False
            time.sleep(0.05)
        self.go.set()
        return True

    def _stop(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def run(self) -> int:
        reserve = _socket(self.options["host"], self.options["port"])  # OSError here: the port is taken
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        try:
            if not self._start_all() and not self.stopping:
                log.error("the server processes did not all start: stopping")
                return 1
            return self._watch()
        finally:
            self._shutdown()
            reserve.close()

    def _watch(self) -> int:
        while not self.stopping:
            time.sleep(0.2)
            for i, (proc, ready, started) in enumerate(self.procs):
                if proc.is_alive() or self.stopping:
                    continue
                kind = self.kinds[i]
                if not ready.is_set() and kind == "server":
                    log.error("a server process exited (code %s) before it served: stopping", proc.exitcode)
                    return proc.exitcode or 1
                log.warning("%s process %s exited (code %s) after %.0f s: starting another", kind, proc.pid,
                            proc.exitcode, time.monotonic() - started)
                self.procs[i] = self._start(kind)
        return 0

    def _shutdown(self) -> None:
        """The servers first (each answers what it holds and queues the dispatch of its last writes), then the
        background process (which runs that dispatch before it exits)."""
        for group in ("server", "background"):
            procs = [p for (p, _, _), kind in zip(self.procs, self.kinds, strict=False) if kind == group]
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()  # SIGTERM: a graceful stop (uvicorn's, the lifespan's shutdown included)
            deadline = time.monotonic() + STOP_S
            for proc in procs:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()
                    proc.join()


def run_workers(workers: int, options: dict[str, Any], data_dir: Path, background: bool = True) -> int:
    """Serve with `workers` processes (and the background one) until SIGINT/SIGTERM; the exit code."""
    # The processes' request counters, summed by whichever answers a scrape (server/metrics.py); a new group
    # starts from zero, as a single process does.
    metrics = Path(data_dir) / "metrics"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    return Supervisor(workers, options, background).run()
