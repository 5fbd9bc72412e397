"""How the log viewer lays out its rows and paints one line: its time, its level's glyph,
its mark, its text.

A mixin of `LogView`. Which lines are shown, and the row table when lines take several rows,
are `log_shown`'s; here the geometry asks it and keeps the view's place across changes.

Each line starts with a two-cell gutter: the level's glyph (readable without colour: ✖ error,
▲ warning, · debug, │ the rest of a traceback after its first line) and the mark (▌). A
line's text takes its level's colour under its own SGR colours. With the pretty JSON view
(`J`) a JSON object line takes a row for its message and one for each other field. Strips
are built per line on demand and kept in an LRU.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip

from runwatch.follow.json_line import JsonRecord, field_text, json_record, looks_like_json
from runwatch.follow.log_levels import Level, LineLevel
from runwatch.tui.format import inert
from runwatch.tui.widgets.log_lines import TIMESTAMP_WIDTH, cells, display_timestamp
from runwatch.tui.widgets.log_text import coloured_segments, highlighted_segments
from runwatch.tui.widgets.repaint import fit, set_virtual_size

if TYPE_CHECKING:
    from textual.cache import LRUCache
    from textual.scroll_view import ScrollView

    from runwatch.tui.widgets.log_lines import LogLines

    _Base = ScrollView
else:
    _Base = object

GUTTER_WIDTH = 2
MARK_GLYPH = "▌"
# (glyph, component class) by level; every glyph one cell in common terminal fonts.
_ERROR = ("✖", "logview--error")
_GLYPHS: dict[Level | None, tuple[str, str | None]] = {
    None: (" ", None),
    Level.TRACE: ("·", "logview--debug"),
    Level.DEBUG: ("·", "logview--debug"),
    Level.INFO: (" ", None),
    Level.WARNING: ("▲", "logview--warning"),
    Level.ERROR: _ERROR,
    Level.CRITICAL: _ERROR,
}
_BLOCK = ("│", "logview--error")

RENDER_CLASSES = {
    "logview--timestamp",
    "logview--match",
    "logview--current-match",
    "logview--cursor",
    "logview--error",
    "logview--warning",
    "logview--debug",
    "logview--mark",
    "logview--json-key",
    "logview--json-string",
    "logview--json-value",
}

RENDER_CSS = """
    .logview--timestamp { color: $text-muted; }
    .logview--match { background: $warning 40%; }
    .logview--current-match { background: $warning; color: $background; }
    .logview--cursor { background: $accent 30%; }
    .logview--error { color: $error; }
    .logview--warning { color: $warning; }
    .logview--debug { color: $text-muted; }
    .logview--mark { color: $accent; text-style: bold; }
    .logview--json-key { color: $accent; }
    .logview--json-string { color: $success; }
    .logview--json-value { color: $secondary; }
"""


# Lines whose strips are kept. Each keeps the crop and the styled strip Textual derives from
# it (and their seven caches each): 4,096 lines held ~18,000 strips and 125,000 FIFOCaches,
# some 20 MB, filled over minutes while following. A few screens is what scrolling reuses.
STRIP_CACHE_LINES = 512


@lru_cache(maxsize=4096)
def cached_record(text: str) -> JsonRecord | None:
    return json_record(text)


def json_rows(text: str) -> int:
    """Rows a line takes in the pretty JSON view: its message, then a row a field."""
    if not looks_like_json(text):
        return 1
    record = cached_record(text)
    return 1 if record is None else 1 + len(record.rest)


def json_time(value: str) -> str:
    """A JSON line's own time in the timestamp column (ISO text, or seconds since 1970)."""
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return display_timestamp(inert(value))
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    else:
        if number > 1e11:  # milliseconds (pino, bunyan)
            number /= 1000
        try:
            when = datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError, ValueError):
            return display_timestamp(inert(value))
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class LogRender(_Base):
    """Needs the viewer's model, display modes, search term, cursor and marks."""

    # (tall, timestamps) for the rows of one render pass.
    _modes: tuple[bool, bool] | None = None

    if TYPE_CHECKING:
        model: LogLines
        show_timestamps: bool
        wrap: bool
        pretty_json: bool
        _cache: LRUCache[tuple[Any, ...], list[Strip]]
        _rich_styles: dict[str, Style]
        _search: str
        _current_match: int | None
        cursor: int | None
        _programmatic_scroll: bool

        def row_pass(self) -> tuple[tuple[int, int], int, Style]: ...

        def is_marked(self, absolute: int) -> bool: ...
        def _locate(self, row: int) -> tuple[int, int]: ...
        def _content_width(self) -> int: ...

    def _prefix_width(self) -> int:
        return (TIMESTAMP_WIDTH if self.show_timestamps else 0) + GUTTER_WIDTH

    def _rows_for(self, text: str) -> int:
        if self.pretty_json and text[:1] == "{":
            return json_rows(text)
        if self.wrap:
            width = self._content_width()
            return max(1, -(-(self._prefix_width() + cells(text)) // width))
        return 1

    # -- rows: which lines are shown (filter), in how many rows each (wrap, JSON view) -----

    def _tall(self) -> bool:
        return self.wrap or self.pretty_json

    def _ensure_rows(self) -> None:
        key = (self._content_width(), self._prefix_width(), self.wrap, self.pretty_json)
        self.rows.ensure_rows(key, self._rows_for)

    def _total_rows(self) -> int:
        if self._tall():
            self._ensure_rows()
            return self.rows.cum[-1]
        return self.rows.count()

    def _update_virtual_size(self) -> None:
        # Without a layout of the screen: the pane's size does not depend on its lines. It
        # clamps the scroll position at once (a reset to fewer lines): not the user scrolling.
        self._programmatic_scroll = True
        try:
            if self.wrap:
                size = Size(self._content_width(), self._total_rows())
            else:
                size = Size(self.model.max_width + self._prefix_width(), self._total_rows())
            set_virtual_size(self, size)
        finally:
            self._programmatic_scroll = False

    def _locate_position(self, row: int) -> tuple[int, int]:
        """Shown position and sub-row of visual row `row`."""
        if not self._tall():
            return row, 0
        self._ensure_rows()
        return self.rows.locate(row)

    def _locate(self, row: int) -> tuple[int, int]:
        """Held line index and sub-row of visual row `row` (-1 past the end)."""
        position, sub_row = self._locate_position(row)
        if not 0 <= position < self.rows.count():
            return -1, 0
        return self.rows.index_at(position), sub_row

    def _row_at_position(self, position: int) -> int:
        if not self._tall():
            return position
        self._ensure_rows()
        return self.rows.rows_before(position)

    def _row_of(self, index: int) -> int:
        """The first row of held line `index` (or of the first shown line after it)."""
        return self._row_at_position(self.rows.position_of(index))

    def _layout_changed(self) -> None:
        """What is shown changed (a filter, a level floor): lay the rows out again."""
        self._cache.clear()
        self._relayout()

    def _relayout(self) -> None:
        # Keep the top visible line (or the cursor's) in view across a change of rows.
        top_line = self._top_line_before
        self.rows.rows_valid = False
        self._update_virtual_size()
        if self.following:
            self._scroll_y_to(self.max_scroll_y)
        elif self.cursor is not None and self.cursor >= self.model.base:
            self._show_index(self.cursor - self.model.base)
        else:
            self._scroll_y_to(self._row_of(top_line))
        self.refresh()
        self._state_changed()

    @property
    def _top_line_before(self) -> int:
        # Called after a mode changed, so the geometry may already be the new one: the row
        # table is only rebuilt in _relayout, so it still describes the old.
        rows = self.rows
        if rows.rows_valid and len(rows.cum) > 1:
            position = bisect.bisect_right(rows.cum, self.scroll_y) - 1
        else:
            position = int(self.scroll_y)
        if rows.count() == 0:
            return 0
        return rows.index_at(min(max(0, position), rows.count() - 1))

    def _show_index(self, index: int) -> None:
        """Scroll so that held line `index` is in view (in the middle when it was not)."""
        row = self._row_of(index)
        height = self.scrollable_content_region.height
        if not (self.scroll_y <= row < self.scroll_y + height):
            self._scroll_y_to(max(0, row - height // 2))

    def _style(self, name: str) -> Style:
        # Looked up once per style change, not per line: a lookup walks the CSS (a frame of
        # forty coloured lines spent most of its time here).
        style = self._rich_styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True)
            self._rich_styles[name] = style
        return style

    def _gutter(self, level: LineLevel, marked: bool) -> list[Segment]:
        glyph, name = _BLOCK if level.in_traceback and not level.starts else _GLYPHS[level.level]
        return [
            Segment(glyph, self._style(name) if name else None),
            Segment(MARK_GLYPH, self._style("logview--mark")) if marked else Segment(" "),
        ]

    def _line_strips(self, index: int) -> list[Strip]:
        absolute = self.model.base + index
        current = self._current_match == absolute
        marked = self.is_marked(absolute)
        at_cursor = self.cursor == absolute
        key = (absolute, self.show_timestamps, self._search, current, marked, at_cursor)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        message = self.model.lines[index][1]
        record = cached_record(message) if self.pretty_json and message[:1] == "{" else None
        segments, base = self._head_segments(index, record, marked, self.show_timestamps)
        if record is not None:
            strips = self._json_strips(segments, record, base)
        else:
            segments.extend(self._message_segments(absolute, message, base, current))
            strips = [Strip(segments)]
        if at_cursor:
            cursor = self._style("logview--cursor")
            strips = [strip.apply_style(cursor) for strip in strips]
        self._cache[key] = strips
        return strips

    def _head_segments(
        self, index: int, record: JsonRecord | None, marked: bool, stamps: bool
    ) -> tuple[list[Segment], Style | None]:
        """A line's time and gutter, and the style of its level (its text's base)."""
        raw_timestamp = self.model.lines[index][0]
        level = self.model.levels[index]
        segments: list[Segment] = []
        if stamps:
            shown = json_time(record.time) if record and record.time else None
            text = (shown or display_timestamp(raw_timestamp)) + " "
            segments.append(Segment(text, self._style("logview--timestamp")))
        _, name = _GLYPHS[level.level] if not level.in_traceback else _ERROR
        segments.extend(self._gutter(level, marked))
        return segments, (self._style(name) if name else None)

    def _plain_row(self, index: int, width: int, base_style: Style, stamps: bool) -> Strip:
        """The one row of a line shown unwrapped and unscrolled, ready for the screen.

        The same segments as `_line_strips(index)[0].crop_extend(0, width, None)
        .apply_style(base_style)`, made into one `Strip` instead of four: while a flood
        scrolls by, every row of every frame is a line not seen before, and each Strip
        costs seven caches of its own. The row is cached as it is shown, for the frames
        in which it only moves.
        """
        absolute = self.model.base + index
        current = self._current_match == absolute
        marked = self.is_marked(absolute)
        at_cursor = self.cursor == absolute
        key = (
            "row", absolute, width, base_style, stamps, self._search, current, marked, at_cursor,
        )  # fmt: skip
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        segments, base = self._head_segments(index, None, marked, stamps)
        message = self.model.lines[index][1]
        segments.extend(self._message_segments(absolute, message, base, current))
        if at_cursor:
            segments = list(Segment.apply_style(segments, self._style("logview--cursor")))
        row = Strip(Segment.apply_style(fit(segments, width), base_style), width)
        self._cache[key] = [row]
        return row

    def _message_segments(
        self, absolute: int, message: str, base: Style | None, current: bool
    ) -> list[Segment]:
        found = bool(self._search) and self._search in message.lower()
        highlight = (
            self._style("logview--current-match" if current else "logview--match")
            if found
            else None
        )
        spans = self.model.styles.get(absolute)
        if spans:
            return coloured_segments(
                message, spans, highlight, self._search, self.app.console, base
            )
        if highlight is not None:
            return highlighted_segments(message, self._search, highlight, base)
        return [Segment(message, base)]

    def _json_strips(
        self, first: list[Segment], record: JsonRecord, base: Style | None
    ) -> list[Strip]:
        """The message on the first row, then `key: value` a row, values coloured by kind."""
        message = record.message if record.message is not None else ""
        first.append(Segment(inert(message), base))
        strips = [Strip(first)]
        indent = Segment(" " * (self._prefix_width() + 2))
        key_style = self._style("logview--json-key")
        string_style = self._style("logview--json-string")
        value_style = self._style("logview--json-value")
        for key, value in record.rest:
            style = string_style if isinstance(value, str) else value_style
            strips.append(
                Strip(
                    [
                        indent,
                        Segment(inert(key), key_style),
                        Segment(": "),
                        Segment(inert(field_text(value)), style),
                    ]
                )
            )
        return strips

    def render_lines(self, crop: Region) -> list[Strip]:
        # The display modes are reactives, each read a walk through Textual's descriptors:
        # read once for all the rows of a pass.
        self._modes = (self._tall(), self.show_timestamps)
        try:
            return super().render_lines(crop)
        finally:
            self._modes = None

    def render_line(self, y: int) -> Strip:
        (scroll_x, scroll_y), width, base_style = self.row_pass()  # once per frame
        tall, stamps = self._modes or (self._tall(), self.show_timestamps)
        if tall:
            index, sub_row = self._locate(scroll_y + y)
        else:
            position, sub_row = scroll_y + y, 0
            index = self.rows.index_at(position) if 0 <= position < self.rows.count() else -1
        if index < 0 or index >= len(self.model.lines):
            return Strip.blank(width, base_style)
        if not tall and scroll_x == 0:
            return self._plain_row(index, width, base_style, stamps)
        strips = self._line_strips(index)
        if len(strips) > 1 or not self.wrap:
            strip = strips[min(sub_row, len(strips) - 1)]
            return strip.crop_extend(scroll_x, scroll_x + width, None).apply_style(base_style)
        start = sub_row * width
        return strips[0].crop_extend(start, start + width, None).apply_style(base_style)
