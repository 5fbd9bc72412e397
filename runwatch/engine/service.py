"""The engine's threads: one writer thread (the scheduler and every write), a pool of readers.

The event loop only awaits futures of these threads, so no request ever blocks it on disk or on a
subprocess.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from runwatch.engine import db
from runwatch.engine.common import Clock
from runwatch.engine.scheduler import Scheduler

T = TypeVar("T")

ACTIVE_TICK = 0.05
IDLE_TICK = 0.25
READER_THREADS = 4


class WriterThread:
    """Runs submitted jobs and the scheduler's ticks, one at a time, on one connection."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._main, name="runwatch-writer", daemon=True)
        self._stopping = False
        self._next_tick = 0.0
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future

    def poke(self) -> None:
        """Tick as soon as possible (e.g. a run was just created)."""
        self._next_tick = 0.0

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._jobs.put(None)
        self._thread.join(timeout)

    def _main(self) -> None:
        while not self._stopping:
            wait = max(0.0, self._next_tick - time.monotonic())
            try:
                item = self._jobs.get(timeout=wait) if wait > 0 else self._jobs.get_nowait()
            except queue.Empty:
                item = None
            if item is not None:
                fn, future = item
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn())
                    except BaseException as exc:
                        future.set_exception(exc)
            if self._stopping:
                break
            # Checked after every job too, so a stream of requests cannot starve ingestion.
            if time.monotonic() >= self._next_tick:
                try:
                    more = self.scheduler.tick()
                except Exception as exc:
                    # Keep serving (and retry the tick later); the error is visible in the log.
                    import traceback

                    traceback.print_exception(exc)
                    self.error = exc
                    more = False
                    time.sleep(0.5)
                interval = (
                    0.0 if more else ACTIVE_TICK if self.scheduler.has_active() else IDLE_TICK
                )
                self._next_tick = time.monotonic() + interval
        # Drain jobs submitted during shutdown so no awaiting request hangs.
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].cancel()
        self.scheduler.close()


class Service:
    """What the HTTP layer uses: async reads on reader threads, async writes on the writer."""

    def __init__(
        self, data_dir: Path, conn: sqlite3.Connection, meta: db.Meta, clock: Clock, queues: int
    ) -> None:
        self.data_dir = data_dir
        self.meta = meta
        self.clock = clock
        self.db_path = data_dir / db.DB_NAME
        self.scheduler = Scheduler(data_dir, conn, meta, clock, queues)
        self.writer = WriterThread(self.scheduler)
        self._local = threading.local()
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="runwatch-reader")
        self._reader_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()

    def start(self) -> None:
        self.scheduler.recover()
        self.writer.start()

    def stop(self) -> None:
        self.writer.stop()
        self._readers.shutdown(wait=True)
        with self._conns_lock:
            for conn in self._reader_conns:
                conn.close()
        self.scheduler.conn.close()

    def _reader_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = db.connect(self.db_path, readonly=True)
            self._local.conn = conn
            with self._conns_lock:
                self._reader_conns.append(conn)
        return conn

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, lambda: fn(self._reader_conn()))

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self.scheduler.conn
        future = self.writer.submit(lambda: fn(conn))
        return await asyncio.wrap_future(future)
