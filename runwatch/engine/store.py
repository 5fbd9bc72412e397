"""SQLite storage: schema, connections and every query the engine and `runwatch deploy` run.

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
import functools
import getpass
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from runwatch.engine.common import IDS_ENV, format_us, new_token, random_digits

DB_NAME = "engine.db"
TERMINAL = ("SUCCEEDED", "FAILED")

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
"""

RUN_COLUMNS = (
    "rseq, run_id, deployment_id, version_id, model_version, status, input_data, output_template,"
    " models, environment, retry_count, distribution, created_us, modified_us"
)


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
    conn.execute("PRAGMA cache_size = -32000")
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


def init_store(data_dir: Path) -> tuple[sqlite3.Connection, Meta]:
    """Create (or open) the data dir and its database; returns a writer connection and the meta."""
    if not data_dir.exists():
        # Private: it holds the token, the runs' environments and their logs. An existing dir
        # the user named keeps its permissions (engine.env itself is always 0600).
        data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    private_db(data_dir / DB_NAME)
    conn = connect(data_dir / DB_NAME)
    # Every statement is idempotent, so two processes initialising at once is harmless.
    conn.executescript(SCHEMA)
    try:
        upgrade(conn)
    except BaseException:
        conn.close()
        raise
    with Transaction(conn):
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if "organization_id" not in meta:
            ids_mode = "seq" if os.environ.get(IDS_ENV, "") == "seq" else "random"
            meta = {
                "organization_id": "1000000000001" if ids_mode == "seq" else random_digits(13),
                "token": new_token(),
                "ids_mode": ids_mode,
            }
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
            # One organization per data dir: the one engine.env names.
            conn.execute(
                "INSERT OR IGNORE INTO organizations (organization_id, created_us) VALUES (?, ?)",
                (meta["organization_id"], time.time_ns() // 1000),
            )
    return conn, Meta(meta["organization_id"], meta["token"], meta["ids_mode"])


# -- on-disk format ---------------------------------------------------------------------------

# The format of the data, in the database header (PRAGMA user_version). 0 is a database written
# before the format was recorded: its log blocks may hold times as `<ts_us>:<n>` and its lines
# may still be in the one-row-per-line `logs` table. Read with today's decoder, such a block
# gives fewer times than lines (the HTTP 500 "zip() argument 2 is shorter than argument 1"
# seen on the demo flood run of a reused data dir), so every start upgrades it first.
STORE_FORMAT = 1


class StoreFormatError(Exception):
    """The database was written by a newer runwatch: refuse it rather than misread it."""


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring an older database to STORE_FORMAT (once, in one transaction); refuse newer ones."""
    if _store_format(conn) == STORE_FORMAT:
        return
    with Transaction(conn):
        # Re-read under the write lock: another process may have upgraded it meanwhile.
        version = _store_format(conn)
        if version > STORE_FORMAT:
            raise StoreFormatError(
                f"the data dir's database has format {version}, this runwatch reads up to"
                f" {STORE_FORMAT}: upgrade runwatch or use another --data-dir"
            )
        if version == 0:
            _upgrade_line_table(conn)
            _upgrade_block_times(conn)
        conn.execute(f"PRAGMA user_version = {STORE_FORMAT}")


def _store_format(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _upgrade_block_times(conn: sqlite3.Connection) -> None:
    """`<ts_us>:<n>,...` times -> today's `time*n,time`. Today's times always end in `Z`."""
    old = conn.execute(
        "SELECT rseq, first_seq, ts FROM log_blocks WHERE ts NOT LIKE '%Z%'"
    ).fetchall()
    for rseq, first_seq, text in old:
        parts = []
        for part in text.split(","):
            ts, _, n = part.partition(":")
            count = int(n or 1)
            parts.append(format_us(int(ts)) + ("" if count == 1 else f"*{count}"))
        conn.execute(
            "UPDATE log_blocks SET ts = ? WHERE rseq = ? AND first_seq = ?",
            (",".join(parts), rseq, first_seq),
        )


def _upgrade_line_table(conn: sqlite3.Connection) -> None:
    """The first engines stored one row per line in `logs`: move them into blocks."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(logs)")}
    if not columns:
        return
    # The very first format kept the raw message, the next one the event's JSON.
    raw = "message" in columns
    column = "message" if raw else "event"
    for (rseq,) in conn.execute("SELECT DISTINCT rseq FROM logs").fetchall():
        rows = conn.execute(
            f"SELECT seq, ts_us, {column} FROM logs WHERE rseq = ? ORDER BY seq",  # noqa: S608
            (rseq,),
        ).fetchall()
        groups: list[LogGroup] = []
        for _seq, ts, value in rows:
            message = value if raw else str(json.loads(value)["message"])
            if groups and groups[-1][0] == ts:
                groups[-1][1].append(message)
            else:
                groups.append((ts, [message]))
        # Their seqs were consecutive, so they keep them; a later engine may already have
        # stored the run's newer lines in blocks after them, so log_seq stays the newest.
        append_logs(conn, rseq, groups, rows[0][0] - 1)
        conn.execute(
            "UPDATE runs SET log_seq = (SELECT max(first_seq + count - 1) FROM log_blocks"
            " WHERE rseq = ?) WHERE rseq = ?",
            (rseq, rseq),
        )
    conn.execute("DROP TABLE logs")


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


# -- ids ---------------------------------------------------------------------------------------


def _next_seq(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return (row[0] if row else 0) + 1


def new_deployment_id(conn: sqlite3.Connection, ids_mode: str) -> str:
    if ids_mode == "seq":
        return str(2_000_000_000_000 + _next_seq(conn, "deployments"))
    while True:
        candidate = random_digits(13)
        if not conn.execute(
            "SELECT 1 FROM deployments WHERE deployment_id = ?", (candidate,)
        ).fetchone():
            return candidate


def new_version_id(conn: sqlite3.Connection, ids_mode: str) -> str:
    if ids_mode == "seq":
        return f"ver-{_next_seq(conn, 'versions'):016x}"
    while True:
        candidate = "ver-" + secrets.token_hex(8)
        if not conn.execute("SELECT 1 FROM versions WHERE version_id = ?", (candidate,)).fetchone():
            return candidate


def new_run_id(conn: sqlite3.Connection, ids_mode: str) -> str:
    if ids_mode == "seq":
        return f"run-{_next_seq(conn, 'runs'):016d}"
    while True:
        candidate = "run-" + random_digits(16)
        if not conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (candidate,)).fetchone():
            return candidate


# -- deployments and versions ------------------------------------------------------------------


def local_user(conn: sqlite3.Connection, organization_id: str) -> dict[str, Any]:
    """The engine's one user, as the platform shows a deployment's or a version's creator.

    The engine has no accounts: whoever holds its token is the organization's admin, so the
    creator of everything is the account that runs the engine, with the organization's id
    and the organization's creation time.
    """
    row = conn.execute(
        "SELECT created_us FROM organizations WHERE organization_id = ?", (organization_id,)
    ).fetchone()
    created = format_us(int(row[0]) if row else 0)
    name = _os_user()
    return {
        "display_name": name,
        "email": f"{name}@localhost",
        "id": organization_id,
        "is_registered": True,
        "role": "admin",
        "created_at": created,
        "updated_at": created,
    }


@functools.cache
def _os_user() -> str:
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):
        # No login name and no passwd entry (some containers).
        return "local"


def deployment_json(row: Sequence[Any], creator: dict[str, Any]) -> dict[str, Any]:
    """A deployment with the fields of the SDK's `abeja.deployments` samples."""
    deployment_id, name, created_us, modified_us = row
    return {
        "deployment_id": deployment_id,
        "name": name,
        "creator": creator,
        "default_environment": {},
        "runs": [],
        "services": [],
        "triggers": [],
        "created_at": format_us(created_us),
        "modified_at": format_us(modified_us),
    }


def list_deployments(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT deployment_id, name, created_us, modified_us FROM deployments ORDER BY dseq"
    ).fetchall()


def get_deployment(conn: sqlite3.Connection, deployment_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT deployment_id, name, created_us, modified_us FROM deployments"
        " WHERE deployment_id = ?",
        (deployment_id,),
    ).fetchone()
    return row


def deployments_named(conn: sqlite3.Connection, name: str) -> list[str]:
    """The ids of the deployments called `name`, oldest first."""
    rows = conn.execute(
        "SELECT deployment_id FROM deployments WHERE name = ? ORDER BY dseq", (name,)
    ).fetchall()
    return [str(row[0]) for row in rows]


def version_json(row: Sequence[Any], creator: dict[str, Any]) -> dict[str, Any]:
    """A version with the fields of the SDK's `abeja.deployments` samples."""
    version_id, deployment_id, version, handler, created_us, modified_us = row
    return {
        "deployment_id": deployment_id,
        "version": version,
        "version_id": version_id,
        "handler": handler,
        "image": "runwatch/local-python:3",
        "user_parameters": {},
        "creator": creator,
        "created_at": format_us(created_us),
        "modified_at": format_us(modified_us),
    }


_VERSION_COLUMNS = "version_id, deployment_id, version, handler, created_us, modified_us"


def list_versions(conn: sqlite3.Connection, deployment_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM versions WHERE deployment_id = ? ORDER BY vseq",  # noqa: S608
        (deployment_id,),
    ).fetchall()


def get_version(
    conn: sqlite3.Connection, deployment_id: str, version_id: str
) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM versions"  # noqa: S608
        " WHERE version_id = ? AND deployment_id = ?",
        (version_id, deployment_id),
    ).fetchone()
    return row


def get_version_for_run(
    conn: sqlite3.Connection, deployment_id: str, version_id: str
) -> tuple[str, str, str] | None:
    """(version, handler, code_dir) of a version of that deployment, or None."""
    row = conn.execute(
        "SELECT version, handler, code_dir FROM versions"
        " WHERE version_id = ? AND deployment_id = ?",
        (version_id, deployment_id),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def insert_deployment(conn: sqlite3.Connection, ids_mode: str, name: str, now_us: int) -> str:
    deployment_id = new_deployment_id(conn, ids_mode)
    conn.execute(
        "INSERT INTO deployments (deployment_id, name, created_us, modified_us)"
        " VALUES (?, ?, ?, ?)",
        (deployment_id, name, now_us, now_us),
    )
    return deployment_id


def insert_version(
    conn: sqlite3.Connection,
    *,
    version_id: str,
    deployment_id: str,
    version: str,
    handler: str,
    code_dir: str,
    now_us: int,
) -> None:
    conn.execute(
        "INSERT INTO versions (version_id, deployment_id, version, handler, code_dir, created_us,"
        " modified_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (version_id, deployment_id, version, handler, code_dir, now_us, now_us),
    )
    conn.execute(
        "UPDATE deployments SET modified_us = ? WHERE deployment_id = ?", (now_us, deployment_id)
    )


def count_versions(conn: sqlite3.Connection, deployment_id: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM versions WHERE deployment_id = ?", (deployment_id,)
        ).fetchone()[0]
    )


# -- runs --------------------------------------------------------------------------------------


def run_json(row: Sequence[Any]) -> dict[str, Any]:
    (
        _rseq,
        run_id,
        deployment_id,
        version_id,
        model_version,
        status,
        input_data,
        output_template,
        models,
        environment,
        retry_count,
        distribution,
        created_us,
        modified_us,
    ) = row
    return {
        "deployment_id": deployment_id,
        "models": json.loads(models),
        "model_version": model_version,
        "model_version_id": version_id,
        "input_data": json.loads(input_data),
        "output_template": None if output_template is None else json.loads(output_template),
        "retry_count": retry_count,
        "run_id": run_id,
        "status": status,
        "user_env_vars": json.loads(environment),
        "distribution": distribution,
        "created_at": format_us(created_us),
        "modified_at": format_us(modified_us),
    }


def get_run(conn: sqlite3.Connection, deployment_id: str, run_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ? AND deployment_id = ?",  # noqa: S608
        (run_id, deployment_id),
    ).fetchone()
    return row


def get_run_rseq(conn: sqlite3.Connection, deployment_id: str, run_id: str) -> int | None:
    row = conn.execute(
        "SELECT rseq FROM runs WHERE run_id = ? AND deployment_id = ?", (run_id, deployment_id)
    ).fetchone()
    return None if row is None else int(row[0])


def list_runs(
    conn: sqlite3.Connection, deployment_id: str, *, forward: bool, after: int | None, limit: int
) -> list[tuple[Any, ...]]:
    """One page of a deployment's runs: oldest first when forward, else newest first."""
    if forward:
        bound = -1 if after is None else after
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs WHERE deployment_id = ? AND rseq > ?"  # noqa: S608
            " ORDER BY rseq ASC LIMIT ?"
        )
    else:
        bound = 2**62 if after is None else after
        sql = (
            f"SELECT {RUN_COLUMNS} FROM runs WHERE deployment_id = ? AND rseq < ?"  # noqa: S608
            " ORDER BY rseq DESC LIMIT ?"
        )
    return conn.execute(sql, (deployment_id, bound, limit)).fetchall()


def insert_run(
    conn: sqlite3.Connection,
    *,
    ids_mode: str,
    deployment_id: str,
    version_id: str,
    model_version: str,
    input_data: Any,
    output_template: Any,
    models: dict[str, str],
    environment: dict[str, str],
    retry_count: int,
    distribution: int | None,
    now_us: int,
) -> tuple[Any, ...]:
    """Insert a SUBMITTED run (inside the caller's transaction); returns its row."""
    run_id = new_run_id(conn, ids_mode)
    rr = int(get_meta(conn, "round_robin") or "0")
    set_meta(conn, "round_robin", str(rr + 1))
    queue_key = distribution if distribution is not None else rr
    cursor = conn.execute(
        "INSERT INTO runs (run_id, deployment_id, version_id, model_version, status, input_data,"
        " output_template, models, environment, retry_count, distribution, queue_key, created_us,"
        " modified_us) VALUES (?, ?, ?, ?, 'SUBMITTED', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            deployment_id,
            version_id,
            model_version,
            json.dumps(input_data),
            None if output_template is None else json.dumps(output_template),
            json.dumps(models),
            json.dumps(environment),
            retry_count,
            distribution,
            queue_key,
            now_us,
            now_us,
        ),
    )
    rseq = cursor.lastrowid
    conn.execute(
        "INSERT INTO status_history (rseq, n, status, at_us) VALUES (?, 1, 'SUBMITTED', ?)",
        (rseq, now_us),
    )
    row: tuple[Any, ...] = conn.execute(
        f"SELECT {RUN_COLUMNS} FROM runs WHERE rseq = ?",  # noqa: S608
        (rseq,),
    ).fetchone()
    return row


def set_status(conn: sqlite3.Connection, rseq: int, status: str, now_us: int) -> None:
    """Change a run's status and append it to the history (inside the caller's transaction)."""
    conn.execute(
        "UPDATE runs SET status = ?, modified_us = ? WHERE rseq = ?", (status, now_us, rseq)
    )
    conn.execute(
        "INSERT INTO status_history (rseq, n, status, at_us) VALUES (?, (SELECT coalesce(max(n), 0)"
        " + 1 FROM status_history WHERE rseq = ?), ?, ?)",
        (rseq, rseq, status, now_us),
    )


def status_history(conn: sqlite3.Connection, rseq: int) -> list[tuple[str, int]]:
    return conn.execute(
        "SELECT status, at_us FROM status_history WHERE rseq = ? ORDER BY n", (rseq,)
    ).fetchall()


# -- logs --------------------------------------------------------------------------------------


_escape = json.encoder.encode_basestring_ascii

# (timestamp, messages): lines that share one timestamp, e.g. one spool record.
LogGroup = tuple[int, list[str]]

BLOCK_EVENTS = 256
BLOCK_CHARS = 256 * 1024


def append_logs(
    conn: sqlite3.Connection, rseq: int, groups: Iterable[LogGroup], last_seq: int
) -> int:
    """Append the groups' lines after `last_seq` (inside the caller's transaction).

    Returns the new last seq. Lines are stored in blocks of at most BLOCK_EVENTS lines (and
    about BLOCK_CHARS characters): the raw lines joined by newlines (a line never holds one),
    their formatted timestamps run-length encoded as `time*n,time` (n omitted when 1). Ingesting
    a line costs a few C-level string operations; JSON is made only for the lines a page
    returns, by concatenation (the fixed-width time format also sorts as text, for filters).
    """
    rows: list[tuple[int, int, int, int, int, str, str]] = []
    seq = last_seq + 1
    messages: list[str] = []
    runs: list[tuple[int, int]] = []
    chars = 0

    def flush() -> None:
        nonlocal seq, messages, runs, chars
        if messages:
            times = [ts for ts, _ in runs]
            rle = ",".join([format_us(ts) if n == 1 else f"{format_us(ts)}*{n}" for ts, n in runs])
            block = (rseq, seq, len(messages), min(times), max(times), rle, "\n".join(messages))
            rows.append(block)
            seq += len(messages)
        messages, runs, chars = [], [], 0

    for ts, lines in groups:
        i = 0
        while i < len(lines):
            part = lines[i : i + BLOCK_EVENTS - len(messages)]
            size = sum(map(len, part))
            if size > BLOCK_CHARS and len(part) > 1:
                part = part[: max(1, len(part) * BLOCK_CHARS // size)]
                size = sum(map(len, part))
            messages.extend(part)
            runs.append((ts, len(part)))
            chars += size
            i += len(part)
            if len(messages) >= BLOCK_EVENTS or chars >= BLOCK_CHARS:
                flush()
    flush()
    if not rows:
        return last_seq
    conn.executemany(
        "INSERT INTO log_blocks (rseq, first_seq, count, min_ts, max_ts, ts, events)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    new_last = seq - 1
    conn.execute("UPDATE runs SET log_seq = ? WHERE rseq = ?", (new_last, rseq))
    return new_last


def _decode_times(text: str) -> list[str]:
    if "*" not in text:
        # Every line with its own time (a slow, steady handler): one C-level pass.
        return text.split(",")
    times: list[str] = []
    for part in text.split(","):
        ts, _, n = part.partition("*")
        times.extend([ts] * int(n or 1))
    return times


def last_log_seq(conn: sqlite3.Connection, rseq: int) -> int:
    row = conn.execute("SELECT log_seq FROM runs WHERE rseq = ?", (rseq,)).fetchone()
    return 0 if row is None else int(row[0])


_BLOCK_COLUMNS = "first_seq, count, min_ts, max_ts, ts, events"


def log_page(
    conn: sqlite3.Connection,
    rseq: int,
    *,
    after: int | None = None,
    before: int | None = None,
    start_us: int | None = None,
    end_us: int | None = None,
    limit: int,
) -> list[tuple[int, str, str]]:
    """Up to `limit` (seq, time, event JSON): ascending from seq `after` + 1, or descending
    from seq `before` - 1 (from the newest when neither is given)."""
    lo = -(2**62) if start_us is None else start_us
    hi = 2**62 if end_us is None else end_us
    filtered = start_us is not None or end_us is not None
    lo_text = "" if start_us is None else format_us(start_us)
    hi_text = "~" if end_us is None else format_us(end_us)
    found: list[tuple[int, str, str]] = []
    if after is not None:
        start = after + 1
        head = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM log_blocks WHERE rseq = ? AND first_seq <= ?"  # noqa: S608
            " ORDER BY first_seq DESC LIMIT 1",
            (rseq, start),
        ).fetchall()
        rest = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM log_blocks WHERE rseq = ? AND first_seq > ?"  # noqa: S608
            " ORDER BY first_seq ASC",
            (rseq, start),
        )
        for first, count, min_ts, max_ts, ts_text, text in chain(head, rest):
            if first + count <= start or max_ts < lo or min_ts > hi:
                continue
            skip = max(0, start - first)
            seqs = range(first + skip, first + count)
            found.extend(
                _select(
                    seqs,
                    _decode_times(ts_text)[skip:],
                    text.split("\n")[skip:],
                    lo_text,
                    hi_text,
                    filtered,
                )
            )
            if len(found) >= limit:
                break
    else:
        end = 2**62 if before is None else before - 1
        cursor = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM log_blocks WHERE rseq = ? AND first_seq <= ?"  # noqa: S608
            " ORDER BY first_seq DESC",
            (rseq, end),
        )
        for first, count, min_ts, max_ts, ts_text, text in cursor:
            if max_ts < lo or min_ts > hi:
                continue
            top = min(count - 1, end - first)
            seqs = range(first + top, first - 1, -1)
            found.extend(
                _select(
                    seqs,
                    _decode_times(ts_text)[top::-1],
                    text.split("\n")[top::-1],
                    lo_text,
                    hi_text,
                    filtered,
                )
            )
            if len(found) >= limit:
                break
    return _as_events(found[:limit])


def _select(
    seqs: range, times: list[str], messages: list[str], lo: str, hi: str, filtered: bool
) -> list[tuple[int, str, str]]:
    rows = list(zip(seqs, times, messages, strict=True))
    if filtered:
        rows = [row for row in rows if lo <= row[1] <= hi]
    return rows


def _as_events(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """(seq, time, message) -> (seq, time, `{"message": ..., "timestamp": ...}`)."""
    return [
        (seq, ts, '{"message":' + _escape(message) + ',"timestamp":"' + ts + '"}')
        for seq, ts, message in rows
    ]
