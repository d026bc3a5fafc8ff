"""What the processes of a server group share on one machine: who leads, and whose turn it is to write.

`momenti serve --workers N` starts N processes on one port. Each takes requests and writes through its own
group-commit writer, but the work that must run once (the event dispatcher with the warehouse sync, the job
consumer with its periodic jobs) runs in the one process holding the *leader* lock, taken at start without
waiting. The others are followers: their debounced signal after a write queues a `dispatch` job on the shared
queue, which the leader's consumer runs, as with a separate `momenti worker`.

Both locks are `flock`s on files in the data directory: the kernel drops one when its process ends however it
ends (a crash included), so a worker restarted in its place can lead, and a waiter wakes the moment the holder
lets go. That is why the writers take turns on a file lock too, before SQLite's own write lock: two processes
meeting on SQLite's lock alone are parted by its busy handler, which sleeps 1, 2, 5 ... 100 ms between tries and
put a second's delay on some writes under load (bench/http_ingest.py).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LEADER_FILE = "server.leader"
WRITERS_FILE = "store.writers"


class FileLock:
    """An exclusive flock on `path` (created if missing). Reentrant within one object only by `held`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def try_acquire(self) -> bool:
        """Take the lock if no one holds it; False at once otherwise."""
        if self._fd is not None:
            return True
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self) -> None:
        """Wait for the lock (the wait releases the GIL: the process's other threads go on)."""
        if self._fd is None:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()


class Leadership(FileLock):
    """The leader lock of the server group on `data_dir`; the leader's pid is written into the file."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(Path(data_dir) / LEADER_FILE)

    def acquire_leadership(self) -> bool:
        if not self.try_acquire():
            return False
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())  # who leads, for an operator reading the file
        return True


def writers_lock(data_dir: Path) -> FileLock:
    """The turn of one process's group-commit writer on the data directory's store."""
    return FileLock(Path(data_dir) / WRITERS_FILE)
