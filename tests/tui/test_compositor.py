"""Partial updates render only what they draw, and draw what a full render draws."""

from __future__ import annotations

from collections import Counter
from typing import Any

from textual._compositor import ChopsUpdate, Compositor
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

from runwatch.tui import compositor

CSS = """
#status { height: 1; }
#table { height: 40%; border: round $panel-lighten-2; }
#bottom { height: 1fr; }
#detail { width: 30; border: round $panel-lighten-2; }
#log { height: 1fr; border: round $panel-lighten-2; }
#other { height: 3; border: round red; }
"""


class Lines(Widget):
    """Repaints without a new layout, as the log view does."""

    text: reactive[str] = reactive("")

    def render(self) -> str:
        return self.text


class Dashboard(App[None]):
    """The dashboard's layout: a line, a table, a detail box beside a log, a footer."""

    CSS = CSS

    def compose(self) -> ComposeResult:
        yield Static("● live", id="status")
        table: DataTable[str] = DataTable(id="table")
        table.add_columns("run", "status")
        for i in range(12):
            table.add_row(f"run-{i}", "RUNNING" if i % 3 else "SUCCEEDED")
        yield table
        with Horizontal(id="bottom"):
            yield Static("status RUNNING\n" * 6, id="detail")
            with Vertical():
                yield Lines(id="log")
                yield Static("beside the log, below it", id="other")
        yield Footer()


async def test_a_partial_update_draws_what_a_full_render_draws_and_renders_no_more() -> None:
    compositor.install()
    assert compositor.installed()
    app = Dashboard()
    checked: list[int] = []
    # Updates that drew only rows of the log, and the other widgets rendered for them.
    log_only: list[Counter[str]] = []
    rendered: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    textuals = compositor._TEXTUALS

    comparing = False

    def counting(self: Widget, crop: Any) -> Any:
        if not comparing:
            rendered[self.id or type(self).__name__] += 1
            seen[self.id or type(self).__name__] += 1
        return Widget.render_lines(self, crop)

    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        display = app._display

        def check(on_screen: Any, update: Any) -> None:
            nonlocal comparing
            if isinstance(update, ChopsUpdate):
                # What Textual's own renders would draw for the same spans, now.
                ours = Compositor._get_renders
                Compositor._get_renders = textuals  # type: ignore[method-assign]
                comparing = True
                try:
                    chops = on_screen._compositor._render_chops(
                        on_screen._compositor.size.region, lambda y: True
                    )
                finally:
                    comparing = False
                    Compositor._get_renders = ours  # type: ignore[method-assign]
                full = ChopsUpdate(chops, update.spans, update.chop_ends)
                assert update.render_segments(app.console) == full.render_segments(app.console)
                checked.append(len(update.spans))
                log_region = app.query_one("#log").region
                if all(log_region.contains(x, y) for y, x, _ in update.spans):
                    log_only.append(rendered.copy())
            rendered.clear()
            display(on_screen, update)

        app._display = check  # type: ignore[method-assign]
        table = app.query_one(DataTable)
        table.render_lines = counting.__get__(table)  # type: ignore[method-assign]
        detail = app.query_one("#detail", Static)
        detail.render_lines = counting.__get__(detail)  # type: ignore[method-assign]
        log = app.query_one("#log", Lines)
        for i in range(4):
            log.text = "\n".join(f"line {n}" for n in range(i, i + 20))
            await pilot.pause()
        assert log_only, "no partial update of the log alone was drawn"
        # The log repainted alone: the table above it and the box beside it were not asked
        # for a single row (Textual's own code rendered both whole at every update).
        assert log_only == [Counter()] * len(log_only)
        # Updates elsewhere still draw right: the table's cursor, a box beside the log.
        await pilot.press("down", "down")
        app.query_one("#other", Static).update("changed")
        detail.update("status SUCCEEDED\n" * 6)
        await pilot.pause()
        assert seen["table"] and seen["detail"]
        assert len(checked) >= len(log_only) + 1
        del screen
