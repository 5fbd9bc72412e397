"""The log store's paging against a plain list: every position, both directions, filters."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from runwatch.engine import db, log_blocks, store_format
from runwatch.engine.attempts import split_events


def fill(
    tmp_path: Path, *, steps_back: bool = False
) -> tuple[sqlite3.Connection, list[tuple[int, str]]]:
    """A run's log of random groups; `steps_back`: the clock sometimes goes back a while."""
    conn, _meta = store_format.init_store(tmp_path / "data")
    rng = random.Random(7)
    expected: list[tuple[int, str]] = []
    last = 0
    ts = 1_700_000_000_000_000
    for _batch in range(30):
        groups = []
        for _group in range(rng.randint(1, 6)):
            ts += rng.randint(0, 3) * 1000
            if steps_back and rng.random() < 0.1:
                ts -= rng.randint(1, 40) * 1000
            lines = [f"l{len(expected) + k} " + "x" * rng.choice([0, 5, 300]) for k in
                     range(rng.choice([1, 1, 2, 40, 300]))]  # fmt: skip
            expected.extend((ts, line) for line in lines)
            groups.append((ts, lines))
        with db.Transaction(conn):
            last = log_blocks.append_logs(conn, 1, groups, last)
    assert last == len(expected)
    return conn, expected


def messages(rows: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    out = []
    for seq, _ts, event in rows:
        data = json.loads(event)
        assert set(data) == {"message", "timestamp"}
        out.append((seq, data["message"]))
    return out


def test_pages_match_a_plain_list(tmp_path: Path) -> None:
    conn, expected = fill(tmp_path)
    n = len(expected)
    rng = random.Random(1)
    for _ in range(300):
        point = rng.randint(0, n + 2)
        limit = rng.choice([1, 3, 256, 1000])
        forward = messages(log_blocks.log_page(conn, 1, after=point, limit=limit))
        want = [(s, expected[s - 1][1]) for s in range(point + 1, min(n, point + limit) + 1)]
        assert forward == want
        backward = messages(log_blocks.log_page(conn, 1, before=point, limit=limit))
        want = [(s, expected[s - 1][1]) for s in range(min(point - 1, n), 0, -1)][:limit]
        assert backward == want
    newest = messages(log_blocks.log_page(conn, 1, limit=10))
    assert [s for s, _ in newest] == list(range(n, n - 10, -1))


@pytest.mark.parametrize("steps_back", [False, True], ids=["steady clock", "clock steps back"])
def test_time_filters_match_a_plain_list(tmp_path: Path, steps_back: bool) -> None:
    conn, expected = fill(tmp_path, steps_back=steps_back)
    n = len(expected)
    times = sorted({ts for ts, _ in expected})
    lo, hi = times[len(times) // 3], times[2 * len(times) // 3]
    rows = log_blocks.log_page(conn, 1, after=0, start_us=lo, end_us=hi, limit=100_000)
    want = [s + 1 for s, (ts, _) in enumerate(expected) if lo <= ts <= hi]
    assert [seq for seq, _, _ in rows] == want
    rows = log_blocks.log_page(conn, 1, before=None, end_us=lo, limit=100_000)
    assert [seq for seq, _, _ in rows] == [s + 1 for s, (ts, _) in enumerate(expected) if ts <= lo][
        ::-1
    ]
    # Back in time from every kind of place, with every kind of window, as followers ask
    # (limit 1: is anything older there?) and as pages are read.
    rng = random.Random(3)
    for _ in range(300):
        point = rng.randint(0, n + 1)
        start = rng.choice([None, rng.choice(times), times[-1] + 1, times[0] - 1])
        end = rng.choice([None, rng.choice(times)])
        limit = rng.choice([1, 1, 7, 1000])
        rows = log_blocks.log_page(conn, 1, before=point, start_us=start, end_us=end, limit=limit)
        want = [
            s
            for s in range(min(point - 1, n), 0, -1)
            if (start is None or expected[s - 1][0] >= start)
            and (end is None or expected[s - 1][0] <= end)
        ][:limit]
        assert [seq for seq, _, _ in rows] == want, (point, start, end, limit)
        rows = log_blocks.log_page(conn, 1, after=point, start_us=start, end_us=end, limit=limit)
        want = [
            s
            for s in range(point + 1, n + 1)
            if (start is None or expected[s - 1][0] >= start)
            and (end is None or expected[s - 1][0] <= end)
        ][:limit]
        assert [seq for seq, _, _ in rows] == want, (point, start, end, limit)


def test_spool_records_parse_whole_records_only() -> None:
    records = b"5 4\na\nb\n" + b"6 3\nc\r\n" + b"7 10\npartial"
    groups, used = split_events(records)
    assert groups == [(5, ["a", "b"]), (6, ["c"])]
    assert used == len(b"5 4\na\nb\n" + b"6 3\nc\r\n")
