"""A line chart drawn with braille dots: several series, log scale, zoom, pan, smoothing.

Our own small canvas rather than a plotting library: it draws 3 series of 100,000 points in
a 140x40 pane in a few milliseconds because each series hands it one (min, max) per dot
column (`chart_series`), where textual-plotext took ~2 s and uniplot needs numpy
(tests/bench/bench_charts.py). A terminal cell holds 2x4 dots; a column's range is drawn as
a vertical run of dots joined to its neighbours, so a one-point spike still shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from runwatch.tui.widgets.chart_series import STRENGTHS, Series, Smoothed, Span

COLOURS = ("#4ea1ff", "#ffa040", "#5fd068", "#f06292", "#c792ea", "#f2d649", "#4dd0e1")
GUTTER = 10  # the y axis' labels and its line
# Bits of the braille dot at (row 0..3, side 0..1) of a cell (U+2800 + bits).
_DOT = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
# _RUN[side][top][bottom]: the bits of dot rows top..bottom on one side of a cell.
_RUN = [
    [
        [sum(_DOT[r][side] for r in range(top, bottom + 1)) for bottom in range(4)]
        for top in range(4)
    ]
    for side in range(2)
]
_BRAILLE = " " + "".join(chr(0x2800 + bits) for bits in range(1, 256))
_AXIS = Style(dim=True)
MIN_ZOOM_STEPS = 4.0


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def axis_label(value: float, log: bool = False) -> str:
    if log:
        value = 10**value
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


@dataclass(frozen=True)
class ChartLine:
    label: str
    series: Series
    colour: str


class LineChart(Widget, can_focus=False):
    """Draws its lines over the steps in view; `view` None shows (and follows) them all."""

    DEFAULT_CSS = """
    LineChart { height: 1fr; }
    """

    class ViewChanged(Message):
        """The steps in view, the scale or the smoothing changed (a title to update)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[ChartLine] = []
        self.log_scale = False
        self.smoothing = 0  # an index into STRENGTHS
        self.view: tuple[float, float] | None = None
        self._smoothed: dict[tuple[int, float], Smoothed] = {}
        self._strips: list[Strip] | None = None
        self._built_for: tuple[int, int] = (0, 0)

    # -- what it shows ------------------------------------------------------------------

    def set_lines(self, lines: Sequence[ChartLine]) -> None:
        self.lines = list(lines)
        kept = {id(line.series) for line in self.lines}
        self._smoothed = {k: v for k, v in self._smoothed.items() if k[0] in kept}
        self.changed()

    def changed(self) -> None:
        """The data or the view changed: draw again at the next frame."""
        self._strips = None
        self.refresh()

    def _view_changed(self) -> None:
        self.changed()
        self.post_message(self.ViewChanged())

    def toggle_log(self) -> None:
        self.log_scale = not self.log_scale
        self._view_changed()

    def cycle_smoothing(self) -> float:
        self.smoothing = (self.smoothing + 1) % len(STRENGTHS)
        self._view_changed()
        return STRENGTHS[self.smoothing]

    def bounds(self) -> tuple[float, float] | None:
        """The steps every line covers together."""
        spans = [b for line in self.lines if (b := line.series.x_bounds()) is not None]
        if not spans:
            return None
        return min(b[0] for b in spans), max(b[1] for b in spans)

    def visible(self) -> tuple[float, float] | None:
        full = self.bounds()
        if full is None or self.view is None:
            return full
        return self.view

    def zoom(self, factor: float, centre: float | None = None) -> None:
        """Show `factor` times the steps (below 1 zooms in), around `centre` (the middle)."""
        full, shown = self.bounds(), self.visible()
        if full is None or shown is None:
            return
        x0, x1 = shown
        middle = (x0 + x1) / 2 if centre is None else centre
        half = max((x1 - x0) * factor / 2, MIN_ZOOM_STEPS / 2)
        self._set_view(middle - half, middle + half, full)

    def pan(self, fraction: float) -> None:
        """Move the view by this fraction of its width (negative: towards step 0)."""
        full, shown = self.bounds(), self.visible()
        if full is None or shown is None or self.view is None:
            return
        shift = (shown[1] - shown[0]) * fraction
        self._set_view(shown[0] + shift, shown[1] + shift, full)

    def reset_view(self) -> None:
        self.view = None
        self._view_changed()

    def _set_view(self, x0: float, x1: float, full: tuple[float, float]) -> None:
        width = x1 - x0
        if width >= full[1] - full[0]:
            self.view = None
        else:
            x0 = min(max(x0, full[0]), full[1] - width)
            self.view = (x0, x0 + width)
        self._view_changed()

    # -- mouse ----------------------------------------------------------------------------

    def _step_at(self, x: int) -> float | None:
        shown = self.visible()
        plot = self.size.width - GUTTER
        if shown is None or plot <= 0:
            return None
        where = min(max((x - GUTTER) / plot, 0.0), 1.0)
        return shown[0] + (shown[1] - shown[0]) * where

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        if event.shift or event.ctrl:
            self.pan(-0.1)
        else:
            self.zoom(0.8, self._step_at(event.x))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        if event.shift or event.ctrl:
            self.pan(0.1)
        else:
            self.zoom(1.25, self._step_at(event.x))

    def on_mouse_scroll_left(self, event: events.MouseScrollLeft) -> None:
        event.stop()
        self.pan(-0.1)

    def on_mouse_scroll_right(self, event: events.MouseScrollRight) -> None:
        event.stop()
        self.pan(0.1)

    # -- drawing --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        size = (self.size.width, self.size.height)
        if self._strips is None or self._built_for != size:
            self._strips = self.build(*size)
            self._built_for = size
        return self._strips[y] if y < len(self._strips) else Strip.blank(size[0])

    def drawn(self, line: ChartLine) -> Series:
        """The series as drawn: its moving average when smoothing is on."""
        weight = STRENGTHS[self.smoothing]
        if not weight:
            return line.series
        key = (id(line.series), weight)
        smoothed = self._smoothed.get(key)
        if smoothed is None:
            smoothed = self._smoothed[key] = Smoothed(line.series, weight)
        return smoothed.sync()

    def build(self, width: int, height: int) -> list[Strip]:
        """The chart's rows at this size (what a redraw costs; the benchmark times it)."""
        plot_w, plot_h = width - GUTTER, height - 1
        shown = self.visible()
        if plot_w < 4 or plot_h < 2 or shown is None:
            message = "no points yet" if shown is None else ""
            rows = [Strip.blank(width) for _ in range(height)]
            if height:
                rows[height // 2] = Strip([Segment(message.center(width)[:width], _AXIS)], width)
            return rows
        x0, x1 = shown
        dots_w, dots_h = plot_w * 2, plot_h * 4
        columns = [self._columns(self.drawn(line), x0, x1, dots_w) for line in self.lines]
        lows = [s[0] for spans in columns for s in spans if s is not None]
        highs = [s[1] for spans in columns for s in spans if s is not None]
        if not lows:
            bottom, top = 0.0, 1.0
        else:
            bottom, top = min(lows), max(highs)
            if top - bottom < 1e-12:
                pad = abs(top) * 0.1 or 1.0
                bottom, top = bottom - pad, top + pad
        scale = (dots_h - 1) / (top - bottom)
        bits = [[0] * plot_w for _ in range(plot_h)]
        owner = [[-1] * plot_w for _ in range(plot_h)]
        for index, spans in enumerate(columns):
            self._draw(spans, bits, owner, index, top, scale, dots_h)
        return self._strips_of(bits, owner, width, (bottom, top), (x0, x1))

    def _columns(self, series: Series, x0: float, x1: float, count: int) -> list[Span | None]:
        spans = series.columns(x0, x1, count)
        if not self.log_scale:
            return spans
        # A value at or below zero has no place on a log axis: it is left out.
        logged: list[Span | None] = []
        for span in spans:
            if span is None or span[1] <= 0:
                logged.append(None)
            else:
                low = span[0] if span[0] > 0 else span[1]
                logged.append((math.log10(low), math.log10(span[1])))
        return logged

    @staticmethod
    def _draw(
        spans: list[Span | None],
        bits: list[list[int]],
        owner: list[list[int]],
        index: int,
        top: float,
        scale: float,
        dots_h: int,
    ) -> None:
        last_row = dots_h - 1
        previous: tuple[int, int, int] | None = None  # (dot column, upper row, lower row)
        for column, span in enumerate(spans):
            if span is None:
                continue
            upper = round((top - span[1]) * scale)
            lower = round((top - span[0]) * scale)
            # The view's range is its lines' min and max, so these are in 0..last_row but
            # for rounding; a zoomed view may still cut a line at a column's edge.
            upper = 0 if upper < 0 else last_row if upper > last_row else upper
            lower = 0 if lower < 0 else last_row if lower > last_row else lower
            if previous is not None:
                p_column, p_upper, p_lower = previous
                if column - p_column > 1:
                    # Columns without points between two with: a straight line across.
                    start, end = (p_upper + p_lower) / 2, (upper + lower) / 2
                    gap = column - p_column
                    for between in range(p_column + 1, column):
                        row = round(start + (end - start) * (between - p_column) / gap)
                        _run(bits, owner, index, between, row, row)
                    # The first column of the gap is joined to the previous one below.
                    p_upper = p_lower = round(start + (end - start) * (gap - 1) / gap)
                # Joined to the previous column: the run reaches the previous range.
                upper = min(upper, p_lower) if upper > p_lower else upper
                lower = max(lower, p_upper) if lower < p_upper else lower
            _run(bits, owner, index, column, upper, lower)
            previous = (column, upper, lower)

    def _strips_of(
        self,
        bits: list[list[int]],
        owner: list[list[int]],
        width: int,
        y_range: tuple[float, float],
        x_range: tuple[float, float],
    ) -> list[Strip]:
        plot_h = len(bits)
        bottom, top = y_range
        labels = {0: top, plot_h - 1: bottom}
        if plot_h >= 5:
            labels[(plot_h - 1) // 2] = top - (top - bottom) * ((plot_h - 1) // 2) / (plot_h - 1)
        styles = {-1: Style()}
        strips: list[Strip] = []
        log = self.log_scale
        for row in range(plot_h):
            label = axis_label(labels[row], log) if row in labels else ""
            tick = "┤" if label else "│"
            segments = [Segment(f"{label[: GUTTER - 2]:>{GUTTER - 2}} {tick}", _AXIS)]
            cells = bits[row]
            if not any(cells):
                segments.append(Segment(" " * len(cells)))
            else:
                start = 0
                for who, run in groupby(owner[row]):
                    end = start + sum(1 for _ in run)
                    style = styles.get(who)
                    if style is None:
                        style = styles[who] = Style(color=colour(who))
                    segments.append(
                        Segment("".join(map(_BRAILLE.__getitem__, cells[start:end])), style)
                    )
                    start = end
            strips.append(Strip(segments, width))
        left, right = (f"{x:,.0f}" if abs(x) < 1e9 else axis_label(x) for x in x_range)
        plot_w = width - GUTTER
        axis = f"{left}{right:>{max(plot_w - len(left), 0)}}"[:plot_w]
        strips.append(Strip([Segment(" " * (GUTTER - 1) + "└" + axis, _AXIS)], width))
        return strips


def _run(
    bits: list[list[int]], owner: list[list[int]], index: int, column: int, upper: int, lower: int
) -> None:
    """Set the dots of rows upper..lower in one dot column (min/max-free: it runs for every
    dot column of every line at each redraw)."""
    cell = column >> 1
    masks = _RUN[column & 1]
    first, last = upper >> 2, lower >> 2
    if first == last:
        bits[first][cell] |= masks[upper & 3][lower & 3]
        owner[first][cell] = index
        return
    bits[first][cell] |= masks[upper & 3][3]
    owner[first][cell] = index
    whole = masks[0][3]
    for row in range(first + 1, last):
        bits[row][cell] |= whole
        owner[row][cell] = index
    bits[last][cell] |= masks[0][lower & 3]
    owner[last][cell] = index
