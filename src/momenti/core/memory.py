"""Giving freed memory back to the operating system.

A dashboard answer is computed from frames as large as the data it reads; once the answer is kept, those
frames are freed, but glibc's allocator keeps the freed pages in its arenas, so a long-running server's resident
memory follows the largest working set it ever had rather than what it holds (bench/soak.py). `malloc_trim(0)`
returns the free pages of every arena. Elsewhere (musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Hand the allocator's free pages back to the OS; True when the allocator could (glibc)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
