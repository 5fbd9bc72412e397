"""Repaint only what changed: helpers for widgets fed by a stream.

Textual repaints a widget whenever a title or a reactive is set, even to what it already
shows, and lays the screen out again whenever a widget's virtual size changes. A log pane fed
several times a second made every one of those happen on every batch, and a repaint of the
status line at the top joined with one of the log at the bottom made the compositor redraw
every widget in between (tests/bench/bench_soak.py measured 26% of a core at 5,000 lines/s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["RowPass", "fit", "set_border_titles", "set_virtual_size"]

_Title = Text | str | None
_titles: WeakKeyDictionary[Widget, tuple[_Title, _Title]] = WeakKeyDictionary()


def set_border_titles(widget: Widget, title: _Title, subtitle: _Title) -> bool:
    """Set the widget's border title and subtitle, repainting only the border row of the one
    that changed (True then). Setting either the ordinary way, even to the same text,
    repaints the whole widget: a log pane whose line count or pending count changes with
    every batch repainted every row of the log for it."""
    shown = _titles.get(widget)
    if shown is not None and _same(shown[0], title) and _same(shown[1], subtitle):
        return False
    _titles[widget] = (title, subtitle)
    if shown is None or not widget.is_mounted or not hasattr(widget, "_border_subtitle"):
        widget.border_title = title
        widget.border_subtitle = subtitle
        return True
    height = widget.outer_size.height
    if not _same(shown[0], title):
        _set_title_row(widget, "_border_title", title, 0)
    if not _same(shown[1], subtitle):
        _set_title_row(widget, "_border_subtitle", subtitle, height - 1)
    return True


def _set_title_row(widget: Widget, name: str, title: _Title, row: int) -> None:
    """What Textual's border title descriptor does, then a repaint of the border row `row`
    (of the widget's outer region) only."""
    if title is None:
        setattr(widget, name, None)
    else:
        content = Content.from_rich_text(title) if isinstance(title, Text) else title
        setattr(widget, name, widget.render_str(content).expand_tabs(4).split()[0])
    # Regions given to `refresh` are relative to the content, inside the border.
    offset = widget.content_offset
    widget.refresh(Region(-offset.x, row - offset.y, widget.outer_size.width, 1))


def _same(a: _Title, b: _Title) -> bool:
    # A Text and a str with the same letters still differ: the str may be read as markup.
    return type(a) is type(b) and a == b


def set_virtual_size(widget: Widget, size: Size) -> None:
    """Change a line-API widget's virtual size without a layout of the whole screen.

    `Widget.virtual_size` is a layout reactive: every change (a log growing by a batch) made
    the screen reflow every widget and repaint every widget whose geometry entry moved. A
    widget of fixed size only needs its scrollbars updated, which `_scroll_update` does (and
    lays out only when a scrollbar appears or goes away). Before the first layout the size
    is set the ordinary way. The widget's own rows are not repainted: the caller repaints
    those that changed (lines added below the view change none of them).
    """
    if widget.virtual_size == size:
        return
    if not widget.is_mounted or not widget.container_size:
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)


if TYPE_CHECKING:
    # For the type checker the mixin is the widget it is mixed into; at run time it must not
    # be a DOMNode, or Textual would follow it, not the widget's own base, for default CSS.
    _Base = Widget
else:
    _Base = object


class RowPass(_Base):
    """For a line-API widget: what every row of one render pass shares, computed once.

    `rich_style` walks the styles of every ancestor and `scrollable_content_region` measures
    the gutter again: asked in each `render_line`, they were a third of the log pane's frame.
    A mixin placed before the widget's Textual base.
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


def fit(segments: list[Segment], width: int) -> list[Segment]:
    """`segments` cut or padded to `width` cells: what `Strip.crop_extend(0, width, None)`
    leaves of them, segment for segment (the screen and its snapshots see the same)."""
    length = sum(cell_len(segment.text) for segment in segments)
    if length < width:
        return [*segments, Segment(" " * (width - length))]
    if length == width:
        return segments
    fitted: list[Segment] = []
    position = 0
    for segment in segments:
        end = position + cell_len(segment.text)
        if end <= 0 and not fitted:
            continue  # Strip.crop drops empty segments before the first cell
        if end < width:
            fitted.append(segment)
        else:
            fitted.append(segment.split_cells(width - position)[0])
            break
        position = end
    return fitted
