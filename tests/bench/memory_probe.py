"""Runs `python -m runwatch ARGS` with tracemalloc on (from 20 s after the start), dumping a
snapshot every INTERVAL s.

    python tests/bench/memory_probe.py DIR INTERVAL FRAMES [--module MODULE] -- [args...]

Used by `bench_soak.py --tracemalloc DIR` (the real dashboard in a real terminal); compare
the dumps with `python tests/bench/memory_diff.py DIR/snap-01.pickle DIR/snap-10.pickle`.
Each dump also appends a line to DIR/stats.txt: RSS, tracemalloc's traced size (current
and peak), pymalloc's allocated blocks, glibc's heap, the count of objects the garbage
collector tracks, and the largest of them by type. FRAMES 0 traces nothing (the counts only,
the app at its own speed). `--module runwatch.engine` probes the engine instead of the app
(bench_engine_soak.py); the line then also holds SQLite's own heap (page caches included).
Not collected by pytest.
"""

from __future__ import annotations

import ctypes
import gc
import os
import runpy
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
START_AFTER = 20.0  # seconds


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 1e6


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks"),
            *("fsmblks", "uordblks", "fordblks", "keepcost"),
        )
    ]


def malloc_mb() -> str:
    """glibc's heap: in use, free but kept (fragmentation), mmapped (large blocks)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return "malloc=?"
    return (
        f"malloc_used={info.uordblks / 1e6:.1f}MB malloc_free={info.fordblks / 1e6:.1f}MB"
        f" mmapped={info.hblkhd / 1e6:.1f}MB"
    )


def sqlite_mb() -> str:
    """What SQLite has malloc()ed, all connections together (page caches, statements)."""
    try:
        used = ctypes.CDLL("libsqlite3.so.0").sqlite3_memory_used
        used.restype = ctypes.c_int64
        return f"sqlite={used() / 1e6:.1f}MB"
    except (OSError, AttributeError):
        return "sqlite=?"


def dump_every(out: Path, interval: float, frames: int) -> None:
    # Started once the app is up: tracing every allocation of the imports made start-up
    # take minutes on a loaded machine. Growth is what is compared, not the total.
    # FRAMES 0: no tracemalloc, only the counts (the app at its own speed).
    time.sleep(START_AFTER)
    if frames:
        tracemalloc.start(frames)
    start = time.monotonic()
    n = 0
    while True:
        n += 1
        time.sleep(max(0.0, start + n * interval - time.monotonic()))
        if frames:
            snapshot = tracemalloc.take_snapshot()
            snapshot.dump(str(out / f"snap-{n:02d}.pickle"))
            del snapshot
        current, peak = tracemalloc.get_traced_memory()
        objects = gc.get_objects()
        types = Counter(type(o).__name__ for o in objects)
        del objects
        top = ", ".join(f"{name}={count}" for name, count in types.most_common(12))
        with (out / "stats.txt").open("a") as stats:
            stats.write(
                f"{n:2d} t={time.monotonic() - start:5.0f}s rss={rss_mb():6.1f}MB"
                f" traced={current / 1e6:6.1f}MB peak={peak / 1e6:6.1f}MB"
                f" tracemalloc_self={tracemalloc.get_tracemalloc_memory() / 1e6:6.1f}MB"
                f" blocks={sys.getallocatedblocks()} {malloc_mb()} {sqlite_mb()}"
                f" gc_objects={sum(types.values())} [{top}]\n"
            )


def main() -> None:
    out, interval, frames = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    rest = sys.argv[4:]
    module = "runwatch"
    if rest[:1] == ["--module"]:
        module, rest = rest[1], rest[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    out.mkdir(parents=True, exist_ok=True)
    threading.Thread(target=dump_every, args=(out, interval, frames), daemon=True).start()
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
