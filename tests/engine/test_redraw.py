"""Lines redrawn with carriage returns: cut into stored lines with the supervisor's rules, on
times the test gives (the engine-level check is in test_run_isolation.py)."""

from __future__ import annotations

import itertools

from runwatch.engine.redraw import LineCutter, last_state


class Feeder:
    """Feeds a cutter as the supervisor does (output, then a due state) and keeps the records."""

    def __init__(self, cutter: LineCutter | None = None) -> None:
        self.cutter = cutter or LineCutter()
        self.records: list[tuple[float, bytes]] = []

    def feed(self, data: bytes, now: float) -> None:
        out = self.cutter.feed(data, now, int(now * 1e6))
        if out:
            self.records.append((now, out))
        self.tick(now)

    def tick(self, now: float) -> None:
        state = self.cutter.due(now)
        if state is not None:
            line, ts_us = state
            self.records.append((ts_us / 1e6, line))

    def lines(self) -> list[bytes]:
        return b"".join(out for _, out in self.records).splitlines()


def test_last_state_is_what_a_terminal_shows() -> None:
    assert last_state(b"plain line  ") == b"plain line  "  # no redraw: as written
    assert last_state(b"\r 10%|#  | 1/10\r 20%|## | 2/10   ") == b" 20%|## | 2/10"
    assert last_state(b"windows line\r") == b"windows line"
    assert last_state(b"\r 90%|#########\r" + b" " * 20 + b"\rmessage") == b"message"
    assert last_state(b"\r   \r") == b""


def test_ten_thousand_redraws_a_second_store_one_state_a_second() -> None:
    feeder = Feeder()
    for n in range(30_000):  # 3 s at 10,000 redraws a second
        feeder.feed(b"\r%d/30000 " % n, n / 10_000)
    feeder.feed(b"\rdone 30000/30000\nnext line\n", 3.0)
    lines = feeder.lines()
    assert lines[-2:] == [b"done 30000/30000", b"next line"]
    states = feeder.records[:-1]
    assert [line for _, line in states] == [b"0/30000\n", b"10000/30000\n", b"20000/30000\n"]
    assert [round(at, 3) for at, _ in states] == [0.0, 1.0, 2.0]
    assert all(b"\r" not in line for line in lines)


def test_a_state_is_stored_when_due_even_if_the_handler_goes_silent() -> None:
    feeder = Feeder()
    feeder.feed(b"\rA", 0.0)
    feeder.feed(b"\rB", 0.2)
    assert feeder.lines() == [b"A"]
    assert feeder.cutter.next_due(0.5) == 1.0
    feeder.tick(0.9)
    assert feeder.lines() == [b"A"]
    feeder.tick(1.0)
    assert feeder.records[-1] == (0.2, b"B\n"), "the state with the time it was read"
    assert feeder.cutter.next_due(5.0) is None, "nothing new to store"


def test_a_final_state_already_stored_is_not_stored_twice() -> None:
    feeder = Feeder()
    feeder.feed(b"\r100%", 0.0)
    feeder.feed(b"\n", 0.5)
    feeder.feed(b"\rlast words", 3.0)
    assert feeder.cutter.finish() == b""
    assert feeder.lines() == [b"100%", b"last words"]
    cut = LineCutter()
    cut.feed(b"\rhalf", 0.0, 0)
    assert cut.finish() == b"half\n", "never stored while running: stored at the end"


def test_a_message_written_over_a_bar_is_a_line_and_the_bar_goes_on() -> None:
    feeder = Feeder()
    feeder.feed(b"\rtrain  10%|#", 0.0)
    # tqdm.write: wipe the bar, write the message, draw the bar again.
    feeder.feed(b"\r" + b" " * 12 + b"\r{'loss': 0.5}\n\rtrain  11%|#", 0.1)
    assert feeder.lines() == [b"train  10%|#", b"{'loss': 0.5}"]
    assert feeder.cutter.current_state() == b"train  11%|#"


def test_lines_without_redraws_are_stored_as_written() -> None:
    feeder = Feeder()
    feeder.feed(b"one  \ntwo\r\nthree", 0.0)
    feeder.feed(b"\n", 0.1)
    assert feeder.lines() == [b"one  ", b"two", b"three"]
    assert feeder.cutter.next_due(1.0) is None


def test_a_line_redrawn_forever_keeps_memory_bounded_and_slows_to_one_state_in_ten_seconds() -> (
    None
):
    feeder = Feeder()
    for n in range(36_000):  # an hour, a redraw every 0.1 s, never a newline
        feeder.feed(b"\rstep %d of a long epoch" % n, n / 10)
        assert len(feeder.cutter.pending) < 64
    times = [at for at, _ in feeder.records]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= 10.05
    assert all(0.95 < gap < 1.05 for gap in gaps[:59]), "the first minute at one a second"
    assert 400 < len(times) < 600, len(times)


def test_a_huge_line_without_a_newline_is_cut() -> None:
    cut = LineCutter(max_pending=1000)
    assert cut.feed(b"x" * 999, 0.0, 0) == b""
    assert cut.feed(b"yy", 0.1, 1) == b"x" * 999 + b"yy\n"
    assert cut.feed(b"\r" + b"z" * 1200, 0.2, 2) == b"z" * 1200 + b"\n"
    assert cut.pending == b""
