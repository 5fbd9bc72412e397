"""SQLite storage, the database itself: schema, connections, transactions and the meta table.

Design for speed (issue 7 measures it):
- Log events are stored in blocks of up to 256 consecutive events of one run, keyed
  (run, first seq) WITHOUT ROWID: a run's blocks are clustered in seq order, any page (forward,
  backward, newest) is one short range scan of the primary key, and paging tokens carry the seq,
  never an OFFSET. One row per block instead of per line makes ingestion several times cheaper.
- `runs` has an index on (deployment_id, rseq), so a page of a deployment's runs in either order
  is one index range scan, whatever the number of runs.
- A block stores its events as ready-made JSON (`{"message": ..., "timestamp": ...}`), encoded
  once at ingestion (one timestamp format per spool record, C-level string escaping), so serving a
  page of 1,000 events is a string join rather than 1,000 dicts through a JSON encoder.
- WAL with synchronous=NORMAL: a commit is written to the WAL file before it returns, so it
  survives a kill of the process (the OS page cache keeps it); only a power loss or OS crash can
  drop the last transactions, which is an acceptable trade for a local engine and what makes
  hundreds of thousands of inserted lines per second possible.

Stdlib only, so `runwatch deploy` and the tests can use it without the server's dependencies.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "engine.db"

# Page cache per connection, in KiB (issue 15). It was 32,000 KiB for every connection, the
# writer and each of the 4 readers: up to ~165 MB. While a run prints 5,000 lines/s and the log
# is followed (tests/bench/bench_engine_soak.py), the writer's cache filled to that cap in 90 s
# (SQLite's heap 18 -> 34 MB), and the pages a reader's cache drops were kept by glibc as free
# memory of that thread's arena (8 -> 26-43 MB): the engine went 74 -> 134 MB in 2.5 minutes,
# its Python objects flat. Neither needs a big cache: the writer appends at the right edge of
# log_blocks (a few interior pages plus the new ones; 4 MiB holds a whole 2 MiB ingest chunk's
# transaction without spilling), and in WAL mode a reader's cache is dropped at the start of
# every read after another connection's commit, i.e. several times a second while a run
# prints, so it only serves pages read again within one request. A page not cached is a read
# from the OS page cache, a few microseconds. With these sizes the engine stays at 65-69 MB,
# its CPU unchanged (6-8 % of a core at 5,000 lines/s).
WRITER_CACHE_KIB = 4096
READER_CACHE_KIB = 2048

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS organizations (
    organization_id TEXT PRIMARY KEY,
    created_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deployments (
    dseq INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    modified_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    vseq INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id TEXT NOT NULL UNIQUE,
    deployment_id TEXT NOT NULL,
    version TEXT NOT NULL,
    handler TEXT NOT NULL,
    code_dir TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    modified_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS versions_by_deployment ON versions (deployment_id, vseq);
CREATE TABLE IF NOT EXISTS runs (
    rseq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    deployment_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    model_version TEXT NOT NULL,
    status TEXT NOT NULL,
    input_data TEXT NOT NULL,
    output_template TEXT,
    models TEXT NOT NULL,
    environment TEXT NOT NULL,
    retry_count INTEGER NOT NULL,
    distribution INTEGER,
    queue_key INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    log_seq INTEGER NOT NULL DEFAULT 0,
    created_us INTEGER NOT NULL,
    modified_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_deployment ON runs (deployment_id, rseq);
CREATE INDEX IF NOT EXISTS runs_active ON runs (status) WHERE status NOT IN ('SUCCEEDED', 'FAILED');
CREATE TABLE IF NOT EXISTS status_history (
    rseq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    status TEXT NOT NULL,
    at_us INTEGER NOT NULL,
    PRIMARY KEY (rseq, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts (
    rseq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL,
    dir TEXT NOT NULL,
    supervisor_pid INTEGER,
    spool_offset INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    started_us INTEGER NOT NULL,
    ended_us INTEGER,
    PRIMARY KEY (rseq, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_blocks (
    rseq INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    ts TEXT NOT NULL,
    events TEXT NOT NULL,
    PRIMARY KEY (rseq, first_seq)
) WITHOUT ROWID;
-- Where a time window begins and ends in a run's log (log_blocks.log_page): max_ts never falls
-- along the log, so the first block reaching a start time is one step of an index; the last
-- block starting before an end time is a walk of small index entries, not of the blocks.
CREATE INDEX IF NOT EXISTS log_blocks_by_max_ts ON log_blocks (rseq, max_ts, first_seq);
CREATE INDEX IF NOT EXISTS log_blocks_by_min_ts ON log_blocks (rseq, min_ts);
"""


def connect(db_path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)."""
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    # Why NORMAL is enough: in WAL mode a COMMIT has write()n its frames to engine.db-wal before
    # it returns, and a killed process (engine SIGKILL, OOM kill, crash) cannot take back what
    # is in the OS page cache; the next open replays the WAL. So every line committed (and so
    # every line a reader has seen) survives any process death exactly once; the lines and
    # the attempt's spool offset share one transaction, so ingestion resumes at the first byte
    # not stored (tests/engine/test_kill_runs.py SIGKILLs writers and checks both). What NORMAL
    # does not cover: an OS crash or power loss may roll back the last transactions since the
    # previous checkpoint's fsync (the database stays consistent, never corrupt). Those lines
    # are then re-ingested from the spool if the spool's own unsynced pages survived. FULL (an
    # fsync per commit, milliseconds each, on every ingestion tick) would only narrow that to
    # the lines not yet ingested, which sit in the unsynced spool and are exposed to the same
    # power loss anyway: for a local run monitor NORMAL is the right trade.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB if readonly else WRITER_CACHE_KIB}")
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    return conn


@dataclass(frozen=True, slots=True)
class Meta:
    organization_id: str
    token: str
    ids_mode: str


class Transaction:
    """`with Transaction(conn):` = BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def private_db(db_path: Path) -> None:
    """The database holds the token and the runs' environments: owner-only, even in a data dir
    the user named with looser permissions. SQLite gives -wal and -shm the database's mode.

    Never opens an existing database: closing any descriptor of it would drop the SQLite
    locks this process holds through its connections (POSIX locks are per process).
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (
        db_path,
        db_path.with_name(db_path.name + "-wal"),
        db_path.with_name(db_path.name + "-shm"),
    ):
        try:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            pass


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
