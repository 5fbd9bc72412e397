"""What the log pane holds stays bounded by lines and by bytes, whatever the lines' length
(issue 15: the dashboard's memory over a long session). No app, no timing: the model the
view keeps its lines in, fed more than it may hold."""

from __future__ import annotations

from typing import NamedTuple

from runwatch.tui.widgets.log_lines import LINE_OVERHEAD, LogLines, line_cost


class Event(NamedTuple):
    message: str
    raw_timestamp: str


TS = "2026-01-01T00:00:00.000000Z"


def events(first: int, count: int, width: int) -> list[Event]:
    return [Event(f"{i:08d} " + "x" * width, TS) for i in range(first, first + count)]


def held_numbers(model: LogLines) -> list[int]:
    return [int(message[:8]) for _, message in model.lines]


def check(model: LogLines) -> None:
    assert model.size == sum(map(line_cost, model.lines))
    assert model.size <= model.max_bytes or len(model.lines) == 1
    assert len(model.lines) <= model.max_lines
    assert len(model.levels) == len(model.lowered) == len(model.codes) == len(model.lines)


def test_long_lines_are_bounded_by_bytes_short_ones_by_count() -> None:
    model = LogLines(max_lines=200, max_bytes=60_000)
    total = 0
    for _ in range(10):  # 500 lines of 2,000 characters: 1 MB fed
        model.add_newest(model.prepare(events(total, 50, 2_000), total))
        total += 50
        check(model)
    # 60,000 / 2,209: 27 lines, the newest, in order, numbered from `base`.
    assert len(model.lines) == 60_000 // (2_009 + LINE_OVERHEAD)
    assert held_numbers(model) == list(range(model.base, total))
    assert model.end == total
    for _ in range(5):  # then short lines: the count bound applies again
        model.add_newest(model.prepare(events(total, 100, 10), total))
        total += 100
        check(model)
    assert len(model.lines) == 200
    assert held_numbers(model) == list(range(total - 200, total))


def test_a_batch_larger_than_the_bytes_keeps_its_newest_lines() -> None:
    model = LogLines(max_lines=1_000, max_bytes=50_000)
    model.add_newest(model.prepare(events(0, 10, 10), 0))
    new, dropped = model.add_newest(model.prepare(events(10, 20, 10_000), 10))
    check(model)
    assert held_numbers(model) == list(range(26, 30))
    assert [int(m[:8]) for _, m in new] == held_numbers(model)
    assert dropped == 26 and model.base == 26
    # A line larger than the whole budget is still held: the newest line always shows.
    model.max_bytes = 5_000
    model.add_newest(model.prepare(events(30, 2, 8_000), 30))
    assert held_numbers(model) == [31]
    assert model.base == 31 and model.end == 32


def test_older_pages_push_out_the_newest_lines_beyond_the_bytes() -> None:
    model = LogLines(max_lines=1_000, max_bytes=50_000)
    model.add_newest(model.prepare(events(100, 4, 10_000), 100))
    check(model)
    popped, _ = model.add_oldest(model.prepare(events(98, 2, 10_000), 98))
    check(model)
    assert popped == 2
    assert held_numbers(model) == [98, 99, 100, 101]
    model.clear()
    assert model.size == 0 and not model.lines
