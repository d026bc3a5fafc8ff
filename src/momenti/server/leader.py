"""Which process of a server group on one machine leads: runs the jobs and the sync.

`momenti serve --workers N` starts N processes on one port. Each takes requests and writes through its own
group-commit writer, but the work that must run once (the event dispatcher with the warehouse sync, the job
consumer with its periodic jobs) runs in the one process holding the *leader* lock, taken at start without
waiting. The others are followers: their debounced signal after a write queues a `dispatch` job on the shared
queue, which the leader's consumer runs, as with a separate `momenti worker`.

The lock is a `flock` on a file in the data directory (core/locks.py): the kernel drops it when its process ends
however it ends (a crash included), so a process restarted in its place can lead. The writers' turns on a
SQLite store are store/turns.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from momenti.core.locks import FileLock

LEADER_FILE = "server.leader"


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
