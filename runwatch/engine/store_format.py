"""Opening the engine database: create it privately, upgrade an older format, first meta."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from runwatch.engine.common import IDS_ENV, format_us, new_token, random_digits
from runwatch.engine.db import DB_NAME, SCHEMA, Meta, Transaction, connect, private_db
from runwatch.engine.log_blocks import LogGroup, append_logs


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
        _cumulative_max_ts(conn)
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


def _cumulative_max_ts(conn: sqlite3.Connection) -> None:
    """Engines before this one stored each log block's own newest time as max_ts; it is now
    the newest time up to the block (log_blocks.append_logs). They differ only where a clock
    stepped back. Recomputed once, marked in meta (not the format: an older runwatch reads
    either the same way)."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'max_ts'").fetchone() is not None:
        return
    with Transaction(conn):
        changed = []
        run, newest = None, 0
        for rseq, first_seq, max_ts in conn.execute(
            "SELECT rseq, first_seq, max_ts FROM log_blocks ORDER BY rseq, first_seq"
        ).fetchall():
            if rseq != run:
                run, newest = rseq, max_ts
            elif max_ts < newest:
                changed.append((newest, rseq, first_seq))
            newest = max(newest, max_ts)
        conn.executemany(
            "UPDATE log_blocks SET max_ts = ? WHERE rseq = ? AND first_seq = ?", changed
        )
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('max_ts', 'cumulative')")


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
