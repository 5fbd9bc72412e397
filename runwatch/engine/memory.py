"""The engine's process memory: glibc's malloc held to few arenas, its free memory handed back.

Why (issue 15, `tests/bench/bench_engine_soak.py`, 5,000 lines/s followed twice a second):
the engine's own objects stay flat (the garbage collector's count, pymalloc's blocks), yet
its RSS went 74 -> 134 MB in 2.5 minutes. Of that, SQLite's page caches were ~34 MB (see
db.py's cache sizes) and the rest was memory glibc had been given back by free() but kept:
`mallinfo2().fordblks` swung between 8 and 43 MB. The engine allocates and frees large
buffers several times a second on six threads (2 MB spool chunks on the writer, 20 KB block
texts and ~130 KB page bodies on the readers and the event loop); glibc gives each thread
that meets a locked arena an arena of its own (up to 8 per core) and returns an arena's
free pages to the OS only from its top, so freed holes in the middle stay resident.

Two arenas bound that spread, and a `malloc_trim(0)` every TRIM_SECONDS (it also releases
free pages in the middle of every arena, with madvise) hands the rest back. A trim costs
2-4 ms (14 ms when it releases ~40 MB at once): under 0.2 % of a core at one per 10 s. Both
are no-ops where the C library is not glibc (musl, macOS): they are about its allocator only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

# glibc's malloc.h: mallopt's parameter for the number of arenas.
M_ARENA_MAX = -8
ARENAS = 2
TRIM_SECONDS = 10.0


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas() -> bool:
    """At most ARENAS malloc arenas (before the threads start); False where not glibc."""
    libc = _glibc()
    return libc is not None and libc.mallopt(M_ARENA_MAX, ARENAS) == 1


def trim() -> None:
    """Hand the free memory of every arena back to the OS."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
