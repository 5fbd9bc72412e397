"""Log storage: a run's lines in blocks of up to 256 events of ready-made JSON.

See db.py for why blocks: a page is one short range scan, serving it is a string join.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from itertools import chain

from runwatch.engine.common import format_us

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
    # A block's max_ts is the newest time in it or in any block before it: it never falls
    # along the log (even when a clock stepped back), so a read back in time stops at the
    # first block older than its window instead of walking to the log's start.
    before = conn.execute(
        "SELECT max_ts FROM log_blocks WHERE rseq = ? ORDER BY first_seq DESC LIMIT 1", (rseq,)
    ).fetchone()
    newest = -(2**62) if before is None else int(before[0])
    messages: list[str] = []
    runs: list[tuple[int, int]] = []
    chars = 0

    def flush() -> None:
        nonlocal seq, messages, runs, chars, newest
        if messages:
            times = [ts for ts, _ in runs]
            rle = ",".join([format_us(ts) if n == 1 else f"{format_us(ts)}*{n}" for ts, n in runs])
            newest = max(newest, *times)
            block = (rseq, seq, len(messages), min(times), newest, rle, "\n".join(messages))
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
    hi = 2**62 if end_us is None else end_us
    filtered = start_us is not None or end_us is not None
    lo_text = "" if start_us is None else format_us(start_us)
    hi_text = "~" if end_us is None else format_us(end_us)
    found: list[tuple[int, str, str]] = []
    # The blocks that can hold lines of the window: from `first_block` to `last_block`
    # (first_seq of each), found in the indexes rather than by walking the blocks outside it.
    # Every block from `first_block` on reaches `start_us` (max_ts never falls); min_ts is
    # checked block by block, as a clock that stepped back leaves older times later on.
    first_block, last_block = _window_blocks(conn, rseq, start_us, end_us)
    if first_block > last_block:
        return []
    if after is not None:
        start = max(after + 1, first_block)
        head = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM log_blocks WHERE rseq = ? AND first_seq <= ?"  # noqa: S608
            " ORDER BY first_seq DESC LIMIT 1",
            (rseq, start),
        ).fetchall()
        rest = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM log_blocks WHERE rseq = ? AND first_seq > ?"  # noqa: S608
            " AND first_seq <= ? AND min_ts <= ? ORDER BY first_seq ASC",
            (rseq, start, last_block, hi),
        )
        for first, count, min_ts, _max_ts, ts_text, text in chain(head, rest):
            if first + count <= start or min_ts > hi:
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
        # Within the window's blocks, those outside its times are passed over in SQLite,
        # before their text is read. (A follower asking whether anything older lies after its
        # edge's instant read every block back to the log's start: the engine's CPU grew with
        # the log, 6 -> 13 % of a core after 10 minutes at 5,000 lines/s.)
        cursor = conn.execute(
            f"SELECT {_BLOCK_COLUMNS} FROM log_blocks WHERE rseq = ? AND first_seq <= ?"  # noqa: S608
            " AND first_seq >= ? AND min_ts <= ? ORDER BY first_seq DESC",
            (rseq, min(end, last_block), first_block, hi),
        )
        for first, count, _min_ts, _max_ts, ts_text, text in cursor:
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


def _window_blocks(
    conn: sqlite3.Connection, rseq: int, start_us: int | None, end_us: int | None
) -> tuple[int, int]:
    """(first_seq of the first block, of the last block) that can hold lines between the
    times: blocks before the first block whose max_ts reaches `start_us` hold only older
    lines, as max_ts never falls along the log; blocks after the last one starting at or
    before `end_us` only newer ones."""
    first, last = 0, 2**62
    if start_us is not None:
        row = conn.execute(
            "SELECT first_seq FROM log_blocks INDEXED BY log_blocks_by_max_ts"
            " WHERE rseq = ? AND max_ts >= ? ORDER BY max_ts, first_seq LIMIT 1",
            (rseq, start_us),
        ).fetchone()
        if row is None:
            return 1, 0
        first = int(row[0])
    if end_us is not None:
        row = conn.execute(
            "SELECT max(first_seq) FROM log_blocks INDEXED BY log_blocks_by_min_ts"
            " WHERE rseq = ? AND min_ts <= ?",
            (rseq, end_us),
        ).fetchone()
        if row[0] is None:
            return 1, 0
        last = int(row[0])
    return first, last


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
