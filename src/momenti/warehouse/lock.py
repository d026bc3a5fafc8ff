"""The warehouse's in-process lock.

Within one process, syncs, pushes and fact refreshes take turns: each checks "what do I have" and then appends,
and two interleaved would append the same rows twice. (Across processes the DuckDB file lock serialises them.)
"""

from __future__ import annotations

import threading

WAREHOUSE_LOCK = threading.RLock()
