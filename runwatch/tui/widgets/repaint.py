"""Repaint only what changed, at most once a frame: helpers for widgets fed by a stream.

Textual repaints a widget whenever a title or a reactive is set, even to what it already
shows, and lays the screen out again whenever a widget's virtual size changes. A log pane fed
several times a second made every one of those happen on every batch, and a repaint of the
status line at the top joined with one of the log at the bottom made the compositor redraw
every widget in between (tests/bench/bench_soak.py measured 26% of a core at 5,000 lines/s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from weakref import WeakKeyDictionary

from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

__all__ = ["FrameGate", "RowPass", "set_border_titles", "set_virtual_size"]

# How often a streaming widget is redrawn at most. A terminal shows a flood of lines no better
# at 60 frames a second than at 20, and each frame of the log pane costs a few ms of CPU.
STREAM_FPS = 20.0

_Title = Text | str | None
_titles: WeakKeyDictionary[Widget, tuple[_Title, _Title]] = WeakKeyDictionary()


def set_border_titles(widget: Widget, title: _Title, subtitle: _Title) -> bool:
    """Set the widget's border title and subtitle, repainting it only when either changed
    (True then). Setting either one, even to the same text, repaints the whole widget."""
    shown = _titles.get(widget)
    if shown is not None and _same(shown[0], title) and _same(shown[1], subtitle):
        return False
    _titles[widget] = (title, subtitle)
    widget.border_title = title
    widget.border_subtitle = subtitle
    return True


def _same(a: _Title, b: _Title) -> bool:
    # A Text and a str with the same letters still differ: the str may be read as markup.
    return type(a) is type(b) and a == b


def set_virtual_size(widget: Widget, size: Size) -> None:
    """Change a line-API widget's virtual size without a layout of the whole screen.

    `Widget.virtual_size` is a layout reactive: every change (a log growing by a batch) made
    the screen reflow every widget and repaint every widget whose geometry entry moved. A
    widget of fixed size only needs its scrollbars updated, which `_scroll_update` does (and
    lays out only when a scrollbar appears or goes away). Before the first layout the size
    is set the ordinary way.
    """
    if widget.virtual_size == size:
        return
    if not widget.is_mounted or not widget.container_size:
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)
    widget.refresh()


class FrameGate:
    """Runs `callback` soon after `request()`, at most once every 1/fps seconds.

    The first request after a quiet spell runs on the next turn of the message loop (as
    `call_later` did); requests during the following frame interval are merged into one run
    at its end. Nothing is scheduled while nobody asks: no timer ticks when the stream is idle.
    """

    def __init__(
        self, owner: Widget, callback: Callable[[], None], *, fps: float = STREAM_FPS
    ) -> None:
        self._owner = owner
        self._callback = callback
        self.interval = 1.0 / fps
        self._last = -self.interval
        self._pending = False
        self._timer: Timer | None = None

    @property
    def pending(self) -> bool:
        return self._pending

    def request(self) -> None:
        if self._pending:
            return
        self._pending = True
        wait = self._last + self.interval - time.monotonic()
        if wait <= 0:
            self._owner.call_later(self._run)
        else:
            self._timer = self._owner.set_timer(wait, self._run, name="frame-gate")

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._pending = False

    def _run(self) -> None:
        if not self._pending:
            return  # cancelled meanwhile
        self._pending = False
        self._timer = None
        self._last = time.monotonic()
        self._callback()


class RowPass(Widget):
    """For a line-API widget: what every row of one render pass shares, computed once.

    `rich_style` walks the styles of every ancestor and `scrollable_content_region` measures
    the gutter again: asked in each `render_line`, they were a third of the log pane's frame.
    """

    _row_pass: tuple[tuple[int, int], int, Style] | None = None

    def row_pass(self) -> tuple[tuple[int, int], int, Style]:
        """(scroll offset, content width, base style) for the rows being rendered."""
        shared = self._row_pass
        if shared is None:
            offset = self.scroll_offset
            shared = ((offset.x, offset.y), self.scrollable_content_region.width, self.rich_style)
        return shared

    def render_lines(self, crop: Region) -> list[Strip]:
        self._row_pass = None
        self._row_pass = self.row_pass()
        try:
            return super().render_lines(crop)
        finally:
            self._row_pass = None
