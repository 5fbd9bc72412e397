"""Data dirs written by older engines: upgraded on start, never misread (the flood run's 500).

The first log blocks stored their times as `<ts_us>:<n>`; today's decoder read such a block as
fewer times than lines and every page of it failed with `zip() argument 2 is shorter than
argument 1` (HTTP 500), as seen on the demo flood run of a data dir kept across versions.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.engine import db, log_blocks, store_format
from runwatch.engine.common import format_us, parse_time_us
from tests.conftest import EngineProcess

T0 = 1_700_000_000_000_000


def legacy_times(text: str) -> str:
    """Today's `time*n,time` -> the first format's `<ts_us>:<n>,...`."""
    parts = []
    for part in text.split(","):
        ts, _, n = part.partition("*")
        parts.append(f"{parse_time_us(ts)}:{n or 1}")
    return ",".join(parts)


def make_legacy(db: Path) -> None:
    """Rewrite every block's times in the first format and forget the recorded format."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        rows = conn.execute("SELECT rseq, first_seq, ts FROM log_blocks").fetchall()
        for rseq, first, text in rows:
            conn.execute(
                "UPDATE log_blocks SET ts = ? WHERE rseq = ? AND first_seq = ?",
                (legacy_times(text), rseq, first),
            )
        conn.execute("PRAGMA user_version = 0")
    finally:
        conn.close()


def all_events(conn: sqlite3.Connection, rseq: int) -> list[tuple[int, str, str]]:
    rows = log_blocks.log_page(conn, rseq, after=0, limit=1_000_000)
    return [(seq, ts, json.loads(event)["message"]) for seq, ts, event in rows]


def test_blocks_with_first_format_times_are_upgraded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    conn, _meta = store_format.init_store(data)
    # One big group (a flood: many lines, one time), then lines with times of their own.
    groups = [(T0, [f"flood {i}" for i in range(700)])]
    groups += [(T0 + 1000 * k, [f"slow {k}"]) for k in range(1, 40)]
    with db.Transaction(conn):
        log_blocks.append_logs(conn, 1, groups, 0)
    want = all_events(conn, 1)
    conn.close()
    make_legacy(data / db.DB_NAME)

    conn, _meta = store_format.init_store(data)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store_format.STORE_FORMAT
        assert all_events(conn, 1) == want
        assert want[0] == (1, format_us(T0), "flood 0")
        newest = log_blocks.log_page(conn, 1, limit=5)
        assert [seq for seq, _, _ in newest] == [739, 738, 737, 736, 735]
    finally:
        conn.close()


@pytest.mark.parametrize("column", ["message", "event"])
def test_the_one_row_per_line_table_becomes_blocks(tmp_path: Path, column: str) -> None:
    data = tmp_path / "data"
    conn, _meta = store_format.init_store(data)
    conn.execute(
        f"CREATE TABLE logs (rseq INTEGER NOT NULL, seq INTEGER NOT NULL, ts_us INTEGER NOT NULL,"
        f" {column} TEXT NOT NULL, PRIMARY KEY (rseq, seq)) WITHOUT ROWID"
    )
    lines = [(seq, T0 + (seq // 3) * 1000, f"old {seq} ✓") for seq in range(1, 601)]
    for seq, ts, message in lines:
        value = message if column == "message" else json.dumps({"message": message, "t": ts})
        conn.execute("INSERT INTO logs VALUES (7, ?, ?, ?)", (seq, ts, value))
    conn.execute("PRAGMA user_version = 0")
    conn.close()

    conn, _meta = store_format.init_store(data)
    try:
        assert all_events(conn, 7) == [(seq, format_us(ts), m) for seq, ts, m in lines]
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'logs'").fetchone()
    finally:
        conn.close()


def test_a_database_from_a_newer_runwatch_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    conn, _meta = store_format.init_store(data)
    conn.execute(f"PRAGMA user_version = {store_format.STORE_FORMAT + 1}")
    conn.close()
    with pytest.raises(store_format.StoreFormatError, match="upgrade runwatch"):
        store_format.init_store(data)
    result = subprocess.run(
        [sys.executable, "-m", "runwatch.engine", "serve", "--port", "0", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "upgrade runwatch" in result.stderr
    assert "Traceback" not in result.stderr


def test_flood_run_of_a_reused_data_dir_pages_without_500(engine: EngineProcess) -> None:
    dep = engine.demo_deployment_id
    run_id = engine.create_run(dep, engine.demo_versions["flood"], input_data={"lines": 5000})[
        "run_id"
    ]
    engine.wait_for_status(dep, run_id, {"SUCCEEDED"}, timeout=60)
    before = engine.all_log_messages(dep, run_id)
    assert len(before) > 5000
    engine.stop()
    make_legacy(engine.data_dir / db.DB_NAME)
    engine.start()
    assert engine.all_log_messages(dep, run_id) == before
    path = f"/organizations/{engine.organization_id}/deployments/{dep}/runs/{run_id}/recentlogs"
    with engine.client() as client:
        page = client.get(path)
        assert page.status_code == 200, page.text
        older = client.get(path, params={"next_backward_token": page.json()["next_backward_token"]})
        assert older.status_code == 200, older.text
    # recentlogs pages are newest first.
    got = [e["message"] for e in page.json()["events"] + older.json()["events"]][::-1]
    assert len(got) == 2000
    assert got == before[-len(got) :]


def test_a_log_whose_clock_stepped_back_is_read_whole_by_time_after_the_upgrade(
    tmp_path: Path,
) -> None:
    # Engines before this one kept each block's own newest time as max_ts; a read by time now
    # stops going back at the first block older than its window, which with the old values
    # would miss lines written after a clock stepped back. The start recomputes them once.
    data = tmp_path / "data"
    conn, _meta = store_format.init_store(data)
    groups = [(T0 + 10_000_000 + i, [f"a{i}"] * 300) for i in range(3)]
    groups += [(T0 + i, [f"b{i}"] * 300) for i in range(3)]  # the clock went back 10 s
    with db.Transaction(conn):
        log_blocks.append_logs(conn, 1, groups, 0)
    # As an older engine wrote it: each block's own newest time, and no mark.
    for first, ts_text in conn.execute("SELECT first_seq, ts FROM log_blocks").fetchall():
        newest = max(parse_time_us(t.partition("*")[0]) for t in ts_text.split(","))
        conn.execute("UPDATE log_blocks SET max_ts = ? WHERE first_seq = ?", (newest, first))
    conn.execute("DELETE FROM meta WHERE key = 'max_ts'")
    conn.close()

    conn, _meta = store_format.init_store(data)
    try:
        rows = log_blocks.log_page(conn, 1, before=None, start_us=T0 + 5_000_000, limit=10_000)
        assert len(rows) == 900 and {json.loads(e)["message"] for _, _, e in rows} == {
            "a0",
            "a1",
            "a2",
        }
        maxes = [m for (m,) in conn.execute("SELECT max_ts FROM log_blocks ORDER BY first_seq")]
        assert maxes == sorted(maxes)
    finally:
        conn.close()
