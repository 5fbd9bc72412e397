"""The log widget on its own: memory bound, inert text, search, follow, wrap.

Its speed is measured by tests/bench/bench_tui_log.py, not here.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import NamedTuple

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from runwatch.tui.widgets.log_text import styled_messages
from runwatch.tui.widgets.log_view import MAX_SHOWN_CHARS, LogView, styled_message
from runwatch.tui.widgets.repaint import fit


class Event(NamedTuple):
    message: str
    raw_timestamp: str


TS = "2026-01-01T00:00:00.000000Z"


class LogApp(App[None]):
    def __init__(self, max_lines: int = 100_000) -> None:
        super().__init__()
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield LogView(max_lines=self.max_lines)


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 1e6


@pytest.mark.long
async def test_absorbs_a_flood_with_bounded_memory() -> None:
    app = LogApp()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        view = app.query_one(LogView)
        total, batch = 1_000_000, 5_000
        line = "epoch=1 step={} loss=0.1234 accuracy=0.9876 some more text to make it longer"
        # The worker process already holds whatever the tests before this one left: only the
        # growth is the pane's (tests/bench/run.py measures a fresh process against 250 MB).
        gc.collect()
        rss_before = _rss_mb()
        for offset in range(0, total, batch):
            view.append([Event(line.format(i), TS) for i in range(offset, offset + batch)])
            if offset % 50_000 == 0:
                await pilot.pause()  # let frames render while the flood goes on
        await pilot.pause()
        gc.collect()
        rss = _rss_mb()
        assert rss - rss_before <= 150
        model = view.model
        assert view.line_count <= view.max_lines and model.size <= model.max_bytes
        assert view.dropped_front == total - view.line_count
        assert view.messages()[-1] == line.format(total - 1)
        assert view.following and view.scroll_y == view.max_scroll_y


async def test_control_characters_and_escapes_are_inert() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 10), notifications=True) as pilot:
        view = app.query_one(LogView)
        view.show_timestamps = False
        view.append(
            [
                Event("\x1b[31mred\x1b[0m [bold]markup[/bold]\rback\x07bell\ttab", TS),
                Event("\x1b]0;title\x07\x9b2J", TS),
            ]
        )
        await pilot.pause()
        first = view.render_line(0).text
        assert "\x1b" not in first and "\r" not in first and "\x07" not in first
        # What follows the carriage return overwrote the line, as on a terminal.
        assert first.rstrip().endswith("backbell    tab  [1 earlier state overwritten by \\r]")
        assert "\x9b" not in view.render_line(1).text


async def test_search_follow_marker_wrap_and_timestamps() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 12), notifications=True) as pilot:
        view = app.query_one(LogView)
        view.append([Event(f"line {i} {'needle' if i % 10 == 0 else ''}", TS) for i in range(200)])
        await pilot.pause()
        assert view.following
        view.focus()
        await pilot.press("up")
        assert not view.following
        view.append([Event(f"new {i}", TS) for i in range(7)])
        await pilot.pause()
        assert view.pending == 7
        await pilot.press("f")
        assert view.following and view.pending == 0
        assert view.search("NEEDLE") == 20
        number = view.current_match_number
        assert number is not None
        await pilot.press("N")
        assert view.current_match_number == number - 1
        await pilot.press("n")
        assert view.current_match_number == number
        await pilot.press("escape")
        assert view.search_term == ""
        assert view.render_line(0).text.startswith("2026-01-01 00:00:00.000Z ")
        await pilot.press("t")
        assert not view.show_timestamps
        assert view.render_line(0).text.startswith("  line")  # the level gutter
        view.append([Event("x" * 150, TS)])
        await pilot.press("w")
        await pilot.pause()
        assert view.wrap
        assert view.virtual_size.height == view.line_count + 2  # 150 chars over 3 rows


async def test_wide_characters_are_measured_in_columns() -> None:
    app = LogApp()
    async with app.run_test(size=(40, 8), notifications=True) as pilot:
        view = app.query_one(LogView)
        view.show_timestamps = False
        wide = "学習" * 30 + "END"  # 60 characters, 123 columns
        view.append([Event("short", TS), Event(wide, TS)])
        await pilot.pause()
        assert view.virtual_size.width >= 123
        view.scroll_to(x=view.max_scroll_x, animate=False, immediate=True)
        await pilot.pause()
        assert view.render_line(1).text.rstrip().endswith("END")


async def test_a_progress_bar_shows_its_last_state() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 6), notifications=True) as pilot:
        view = app.query_one(LogView)
        view.show_timestamps = False
        bar = "".join(f"\r{pct:3d}%|{'#' * (pct // 10):<10}| {pct}/100" for pct in range(101))
        view.append([Event(bar, TS), Event("windows line\r", TS)])
        await pilot.pause()
        assert view.messages() == [
            "100%|##########| 100/100  [100 earlier states overwritten by \\r]",
            "windows line",
        ]


async def test_lines_arriving_while_reading_further_up_do_not_evict_the_top() -> None:
    app = LogApp(max_lines=50)
    async with app.run_test(size=(60, 10), notifications=True) as pilot:
        view = app.query_one(LogView)
        view.append([Event(f"line {i}", TS) for i in range(50)])
        await pilot.pause()
        view.focus()
        await pilot.press("up")  # reading: following paused
        assert not view.following
        view.append([Event(f"late {i}", TS) for i in range(3)])
        await pilot.pause()
        # Nothing evicted from the top (a page loading above must still join line 0) and
        # nothing added after a hole: counted, for when following resumes.
        assert view.messages()[0] == "line 0" and view.line_count == 50
        assert view.dropped_front == 0 and view.dropped_tail and view.pending == 3
        view.append([Event("later", TS)])
        assert view.pending == 4 and "later" not in view.messages()


def test_a_batch_is_styled_as_each_of_its_lines() -> None:
    # The batch's one-pass test of plain lines must give what the line-by-line rule gives.
    messages = [
        "plain",
        "Caps and ünïcode 日本",
        "\x1b[31mred\x1b[0m",
        "bar 10%\rbar 100%",
        "bell\x07tab\t",
        "x" * (MAX_SHOWN_CHARS + 5),
        "",
    ]
    for batch in (messages, messages[:2], messages[2:], [messages[5]]):
        texts, colours = styled_messages(batch)
        assert texts == [styled_message(m)[0] for m in batch]
        assert colours == {i: spans for i, m in enumerate(batch) if (spans := styled_message(m)[1])}


def test_a_row_is_fitted_as_textual_crops_it() -> None:
    # `fit` replaces Strip.crop_extend(0, width): the same segments, so the same screen.
    bold, red = Style(bold=True), Style(color="red")
    lines = [
        [Segment("", bold), Segment("ab", bold), Segment("日本", red), Segment("", None)],
        [Segment("abc"), Segment("de", red)],
        [Segment("😀x", red), Segment(" tail")],
        [],
    ]
    for segments in lines:
        for width in range(1, 12):
            expected = list(Strip(segments).crop_extend(0, width, None))
            assert fit(segments, width) == expected, (segments, width)


async def test_lines_below_a_paused_view_repaint_no_row() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 10), notifications=True) as pilot:
        view = app.query_one(LogView)
        view.append([Event(f"line {i}", TS) for i in range(100)])
        await pilot.pause()
        view.scroll_to(y=20, animate=False, immediate=True)
        await pilot.pause()
        assert not view.following
        shown = [view.render_line(y).text for y in range(view.size.height)]
        repainted: list[object] = []
        original = view.refresh

        def refresh(*regions: object, **kwargs: object) -> object:
            repainted.append(regions)
            return original(*regions, **kwargs)

        view.refresh = refresh  # type: ignore[method-assign]
        view.append([Event(f"more {i}", TS) for i in range(50)])
        await pilot.pause()
        assert repainted == []  # only the scrollbar, its own widget, moved
        assert view.pending == 50
        assert [view.render_line(y).text for y in range(view.size.height)] == shown
        view.action_follow()
        await pilot.pause()
        assert "more 49" in view.render_line(view.size.height - 1).text
