"""A line-API log viewer: a bounded window of a run's log that follows, scrolls back and searches.

It never renders the whole log: `render_line` turns one visible row into a `Strip`, built from
the stored (timestamp, message) pair and kept in an LRU. Appends are batched per frame so a
flood of lines costs one refresh, not one per line.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable, Sequence
from typing import ClassVar, Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runwatch.tui.format import inert
from runwatch.tui.widgets.log_text import (
    MAX_SHOWN_CHARS,
    Span,
    overwritten,
    shown_message,
    styled_message,
)

__all__ = [
    "DEFAULT_MAX_LINES",
    "MAX_SHOWN_CHARS",
    "LogView",
    "overwritten",
    "shown_message",
    "styled_message",
]

DEFAULT_MAX_LINES = 100_000
TIMESTAMP_WIDTH = 25  # "2026-01-01 00:00:00.000Z "


def _cells(message: str) -> int:
    """Columns `message` takes on screen: wide (CJK, emoji) characters take two."""
    return len(message) if message.isascii() else cell_len(message)


class LogEventLike(Protocol):
    @property
    def message(self) -> str: ...
    @property
    def raw_timestamp(self) -> str: ...


def _display_timestamp(raw: str) -> str:
    # The wire format is fixed ISO 8601 (2018-01-01T00:00:00.000000Z): slicing is enough
    # and costs nothing per line, unlike parsing. The Z stays: the times are UTC, which a
    # user nine hours east of it must not mistake for their own clock.
    if len(raw) >= 23 and raw[10] == "T":
        return raw[:10] + " " + raw[11:23] + ("Z" if raw.endswith("Z") else " ")
    return raw[:24].ljust(24)


class LogView(ScrollView, can_focus=True):
    """Holds at most `max_lines` lines; older ones are fetched again when scrolled back to."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f,end", "follow", "Follow", key_display="f", tooltip="Follow the newest lines"),
        Binding("t", "toggle_timestamps", "Time"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("slash", "search", "Find"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Prev match", show=False),
        Binding("e", "export", "Export"),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "logview--timestamp",
        "logview--match",
        "logview--current-match",
    }

    DEFAULT_CSS = """
    LogView {
        scrollbar-gutter: stable;
        .logview--timestamp { color: $text-muted; }
        .logview--match { background: $warning 40%; }
        .logview--current-match { background: $warning; color: $background; }
    }
    """

    following: reactive[bool] = reactive(True, init=False)
    show_timestamps: reactive[bool] = reactive(True, init=False)
    wrap: reactive[bool] = reactive(False, init=False)
    pending: reactive[int] = reactive(0, init=False)

    class NeedOlder(Message):
        """The user reached the top of what is loaded: fetch the page before it."""

    class StateChanged(Message):
        """Following, pending count, search or loading state changed (for the pane's marker)."""

    class ExportRequested(Message):
        pass

    class SearchRequested(Message):
        pass

    def __init__(
        self,
        *,
        max_lines: int = DEFAULT_MAX_LINES,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_lines = max_lines
        self._lines: deque[tuple[str, str]] = deque(maxlen=max_lines)
        # The colours of the lines that have any, by absolute index (most lines have none).
        self._styles: dict[int, list[Span]] = {}
        # Absolute index (in the log as loaded) of _lines[0]: cache keys and matches use it,
        # so they survive prepends and drops.
        self._base = 0
        self._max_width = 0
        self._cache: LRUCache[tuple[int, bool, str, int], Strip] = LRUCache(4096)
        self._wrap_cum: list[int] = [0]
        self._wrap_width = 0
        self._wrap_valid = False
        self._flush_scheduled = False
        self._programmatic_scroll = False
        self._search = ""
        self._matches: list[int] = []
        self._current_match: int | None = None
        self.dropped_front = 0
        """Lines dropped from the top to stay within max_lines (scroll back fetches them again)."""
        self.dropped_tail = False
        """Newest lines were dropped to make room for older ones: following must reload."""
        self.at_start = False
        self.loading_older = False
        self.activity = ""
        """Free text for the pane marker (e.g. export progress)."""

    # -- data ---------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> Sequence[tuple[str, str]]:
        return self._lines

    def messages(self) -> list[str]:
        return [message for _, message in self._lines]

    def reset(self) -> None:
        self._lines.clear()
        self._styles.clear()
        self._base = 0
        self._max_width = 0
        self._cache.clear()
        self._wrap_cum = [0]
        self._wrap_valid = False
        self._matches = []
        self._current_match = None
        self.dropped_front = 0
        self.dropped_tail = False
        self.at_start = False
        self.loading_older = False
        self.pending = 0
        self.following = True
        self._update_virtual_size()
        self._scroll_y_to(0)
        self.refresh()
        self._state_changed()

    def _prepare(self, events: Iterable[LogEventLike], first: int) -> list[tuple[str, str]]:
        """The events as held lines; the colours of those that have any go in `_styles`
        under their absolute index, `first` being the first event's."""
        new: list[tuple[str, str]] = []
        for index, event in enumerate(events, first):
            text, spans = styled_message(event.message)
            if spans:
                self._styles[index] = spans
            new.append((inert(event.raw_timestamp), text))
        return new

    def _forget_styles(self, keep: range) -> None:
        if self._styles:
            self._styles = {i: spans for i, spans in self._styles.items() if i in keep}

    def append(self, events: Iterable[LogEventLike]) -> None:
        """Add newer lines at the bottom; cheap: the refresh happens once per frame."""
        lines = self._lines
        first = self._base + len(lines)
        new = self._prepare(events, first)
        if not new:
            return
        if not self.following and (self.dropped_tail or len(lines) + len(new) > self.max_lines):
            # The user is reading further up: making room would evict the lines under their
            # eyes (or the line a page being loaded above must join), and lines after a
            # dropped tail would follow a hole. They are counted; following again reloads
            # the newest page.
            self.dropped_tail = True
            self.pending += len(new)
            self._forget_styles(range(self._base, first))
            self._state_changed()
            return
        skipped = max(0, len(new) - self.max_lines)
        if skipped:
            # One batch larger than the pane holds: its own first lines go at once (the
            # search and the wrap table count on every new line being held).
            new = new[skipped:]
            self._base += skipped
            self.dropped_front += skipped
            self.at_start = False
        overflow = len(lines) + len(new) - self.max_lines
        dropped_rows = 0
        if overflow > 0:
            if self.wrap and self._wrap_valid:
                dropped_rows = self._wrap_cum[min(overflow, len(lines))]
            else:
                dropped_rows = min(overflow, len(lines))
            self.dropped_front += min(overflow, len(lines))
            self._base += min(overflow, len(lines))
            self._wrap_valid = False
            self.at_start = False
        lines.extend(new)
        if overflow > 0 or skipped:
            self._forget_styles(range(self._base, self._base + len(lines)))
        width = max(map(_cells, [message for _, message in new]))
        if width > self._max_width:
            self._max_width = width
        if self._wrap_valid:
            self._extend_wrap(new)
        if self._search:
            self._match_new(len(lines) - len(new), len(lines))
        if not self.following:
            self.pending += len(new)
            if dropped_rows:
                # Keep the rows the user is reading still under their eyes.
                self._scroll_y_to(max(0, self.scroll_y - dropped_rows))
        self._schedule_flush()

    def prepend(self, events: Sequence[LogEventLike]) -> None:
        """Add older lines at the top, keeping the line being read at the same place."""
        events = events[-self.max_lines :] if len(events) > self.max_lines else events
        new = self._prepare(events, self._base - len(events))
        if not new:
            return
        lines = self._lines
        room = self.max_lines - len(lines)
        if len(new) > room:
            # Make room by dropping the newest lines; following then has to reload them.
            for _ in range(min(len(new) - room, len(lines))):
                lines.pop()
            self.dropped_tail = True
            self.following = False
        lines.extendleft(reversed(new))
        self._base -= len(new)
        if len(new) > room:
            self._forget_styles(range(self._base, self._base + len(lines)))
        width = max(map(_cells, [message for _, message in new]))
        if width > self._max_width:
            self._max_width = width
        self._wrap_valid = False
        if self._search:
            self._recompute_matches()
        self._update_virtual_size()
        # The line that was at the top is now len(new) lines further down: keep it in place.
        added_rows = self._row_of(len(new))
        if not self.following or self.scroll_y > 0:
            self._scroll_y_to(self.scroll_y + added_rows)
        else:
            self._scroll_y_to(self.max_scroll_y)
        self.refresh()
        self._state_changed()

    # -- frame batching -----------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.call_later(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._update_virtual_size()
        if self.following:
            self._scroll_y_to(self.max_scroll_y)
            # A line wider than the pane brings the horizontal scrollbar, which takes a row
            # from the viewport only once laid out: follow to the bottom again then, or the
            # scrollbar covers the newest line.
            self.call_after_refresh(self._stay_at_bottom)
        self.refresh()
        self._state_changed()

    def _stay_at_bottom(self) -> None:
        if self.following and self.scroll_y < self.max_scroll_y:
            self._scroll_y_to(self.max_scroll_y)

    def _scroll_y_to(self, y: float) -> None:
        self._programmatic_scroll = True
        try:
            self.scroll_to(y=y, animate=False, immediate=True, force=True)
        finally:
            self._programmatic_scroll = False

    def _content_width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    def _prefix_width(self) -> int:
        return TIMESTAMP_WIDTH if self.show_timestamps else 0

    def _total_rows(self) -> int:
        if self.wrap:
            self._ensure_wrap()
            return self._wrap_cum[-1]
        return len(self._lines)

    def _update_virtual_size(self) -> None:
        if self.wrap:
            self.virtual_size = Size(self._content_width(), self._total_rows())
        else:
            self.virtual_size = Size(self._max_width + self._prefix_width(), len(self._lines))

    # -- wrapping (row counts computed lazily, only while wrap is on) ----------------------

    def _rows_for(self, message: str, width: int) -> int:
        length = self._prefix_width() + _cells(message)
        return max(1, -(-length // width))

    def _ensure_wrap(self) -> None:
        width = self._content_width()
        if self._wrap_valid and width == self._wrap_width:
            return
        cumulative = [0]
        total = 0
        rows_for = self._rows_for
        for _, message in self._lines:
            total += rows_for(message, width)
            cumulative.append(total)
        self._wrap_cum = cumulative
        self._wrap_width = width
        self._wrap_valid = True

    def _extend_wrap(self, new: list[tuple[str, str]]) -> None:
        width = self._wrap_width
        total = self._wrap_cum[-1]
        for _, message in new:
            total += self._rows_for(message, width)
            self._wrap_cum.append(total)

    def _locate(self, row: int) -> tuple[int, int]:
        """Line index and wrapped sub-row of visual row `row`."""
        if not self.wrap:
            return row, 0
        self._ensure_wrap()
        index = bisect.bisect_right(self._wrap_cum, row) - 1
        return index, row - self._wrap_cum[index]

    def _row_of(self, index: int) -> int:
        if not self.wrap:
            return index
        self._ensure_wrap()
        return self._wrap_cum[min(index, len(self._wrap_cum) - 1)]

    # -- rendering ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap:
            self._wrap_valid = False
            self._update_virtual_size()
        if self.following:
            self._scroll_y_to(self.max_scroll_y)
            self.call_after_refresh(self._stay_at_bottom)

    def _line_strip(self, index: int) -> Strip:
        absolute = self._base + index
        current = self._current_match == absolute
        key = (absolute, self.show_timestamps, self._search, int(current))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        raw_timestamp, message = self._lines[index]
        segments: list[Segment] = []
        if self.show_timestamps:
            segments.append(
                Segment(
                    _display_timestamp(raw_timestamp) + " ",
                    self.get_component_rich_style("logview--timestamp", partial=True),
                )
            )
        found = bool(self._search) and self._search in message.lower()
        highlight = (
            self.get_component_rich_style(
                "logview--current-match" if current else "logview--match", partial=True
            )
            if found
            else None
        )
        spans = self._styles.get(absolute)
        if spans:
            segments.extend(self._coloured(message, spans, highlight))
        elif highlight is not None:
            segments.extend(_highlighted(message, self._search, highlight))
        else:
            segments.append(Segment(message))
        strip = Strip(segments)
        self._cache[key] = strip
        return strip

    def _coloured(self, message: str, spans: list[Span], highlight: Style | None) -> list[Segment]:
        text = Text(message, end="", no_wrap=True)
        for start, end, style in spans:
            text.stylize(style, start, end)
        if highlight is not None:
            lowered, term, start = message.lower(), self._search, 0
            if len(lowered) == len(message):
                while (found := lowered.find(term, start)) >= 0:
                    text.stylize(highlight, found, found + len(term))
                    start = found + len(term)
        return list(text.render(self.app.console))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base_style = self.rich_style
        index, sub_row = self._locate(scroll_y + y)
        if index < 0 or index >= len(self._lines):
            return Strip.blank(width, base_style)
        strip = self._line_strip(index)
        if self.wrap:
            start = sub_row * width
            return strip.crop_extend(start, start + width, None).apply_style(base_style)
        return strip.crop_extend(scroll_x, scroll_x + width, None).apply_style(base_style)

    # -- following and scrolling ----------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._programmatic_scroll:
            return
        if new_value < old_value and self.following:
            self.following = False
        elif new_value > old_value and new_value >= self.max_scroll_y and not self.dropped_tail:
            self.following = True
        if new_value <= 0 < old_value:
            self._reached_top()

    def watch_following(self, following: bool) -> None:
        if following:
            self.pending = 0
            # Reached by scrolling down, the view is at the bottom already, and scrolling from
            # inside the scroll animation's own step made Textual's animator fail (KeyError:
            # the app exited on `k` then `j`).
            if self.scroll_y < self.max_scroll_y:
                self._scroll_y_to(self.max_scroll_y)
        self._state_changed()

    def watch_pending(self) -> None:
        self._state_changed()

    def watch_show_timestamps(self) -> None:
        self._cache.clear()
        self._relayout()

    def watch_wrap(self, wrap: bool) -> None:
        self._cache.clear()
        if wrap:
            self.scroll_to(x=0, animate=False, immediate=True)
        self._relayout()

    def _relayout(self) -> None:
        # Keep the top visible line in view across a change of row geometry.
        top_line = self._top_line_before
        self._wrap_valid = False
        self._update_virtual_size()
        if self.following:
            self._scroll_y_to(self.max_scroll_y)
        else:
            self._scroll_y_to(self._row_of(top_line))
        self.refresh()
        self._state_changed()

    @property
    def _top_line_before(self) -> int:
        # Called after the reactive changed, so the geometry may already be the new one:
        # the cumulative table is only rebuilt in _relayout, so it still describes the old.
        if self._wrap_valid and len(self._wrap_cum) > 1:
            return bisect.bisect_right(self._wrap_cum, self.scroll_y) - 1
        return int(self.scroll_y)

    def _reached_top(self) -> None:
        if not self.at_start and not self.loading_older:
            self.post_message(self.NeedOlder())

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.scroll_y <= 0:
            self._reached_top()

    def action_scroll_up(self) -> None:
        if self.scroll_y <= 0:
            self._reached_top()
        else:
            super().action_scroll_up()

    def action_page_up(self) -> None:
        if self.scroll_y <= 0:
            self._reached_top()
        else:
            super().action_page_up()

    def action_scroll_home(self) -> None:
        if self.scroll_y <= 0:
            self._reached_top()
        else:
            self.following = False
            self.scroll_to(y=0, animate=False, immediate=True, force=True)

    def action_follow(self) -> None:
        self.following = True
        self._state_changed()

    def action_toggle_timestamps(self) -> None:
        self.show_timestamps = not self.show_timestamps

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def action_export(self) -> None:
        self.post_message(self.ExportRequested())

    def action_search(self) -> None:
        self.post_message(self.SearchRequested())

    # -- search ---------------------------------------------------------------------------

    @property
    def search_term(self) -> str:
        return self._search

    @property
    def match_count(self) -> int:
        return len(self._matches)

    @property
    def current_match_number(self) -> int | None:
        if self._current_match is None:
            return None
        position = bisect.bisect_left(self._matches, self._current_match)
        return position + 1

    def search(self, term: str) -> int:
        """Highlight `term` (case-insensitive) and jump to the last match above the bottom."""
        self._search = term.lower()
        self._cache.clear()
        self._recompute_matches()
        self._current_match = None
        if self._matches:
            bottom = self._base + self._locate(int(self.scroll_y) + self.size.height)[0]
            position = bisect.bisect_right(self._matches, bottom) - 1
            self._jump_to(self._matches[max(0, position)])
        self.refresh()
        self.refresh_bindings()  # n / N now step through matches
        self._state_changed()
        return len(self._matches)

    def _recompute_matches(self) -> None:
        term = self._search
        base = self._base
        self._matches = (
            [base + i for i, (_, message) in enumerate(self._lines) if term in message.lower()]
            if term
            else []
        )

    def _match_new(self, start: int, stop: int) -> None:
        term = self._search
        base = self._base
        lines = self._lines
        for i in range(start, stop):
            if term in lines[i][1].lower():
                self._matches.append(base + i)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "previous_match", "clear_search"):
            # Without a search these keys belong to the screen (n = new run).
            return bool(self._search)
        return True

    def action_clear_search(self) -> None:
        self._search = ""
        self._matches = []
        self._current_match = None
        self._cache.clear()
        self.refresh()
        # n is the screen's again (new run): the footer must say so.
        self.refresh_bindings()
        self._state_changed()

    def action_next_match(self) -> None:
        self._step_match(+1)

    def action_previous_match(self) -> None:
        self._step_match(-1)

    def _step_match(self, direction: int) -> None:
        matches = [m for m in self._matches if m >= self._base]
        self._matches = matches
        if not matches:
            self.notify(f"No match for {self._search!r} in the loaded log", severity="warning")
            return
        if self._current_match is None:
            target = matches[-1] if direction < 0 else matches[0]
        elif direction > 0:
            position = bisect.bisect_right(matches, self._current_match)
            target = matches[position % len(matches)]
        else:
            position = bisect.bisect_left(matches, self._current_match) - 1
            target = matches[position % len(matches)]
        self._jump_to(target)

    def _jump_to(self, absolute: int) -> None:
        self._current_match = absolute
        self.following = False
        index = absolute - self._base
        row = self._row_of(index)
        height = self.scrollable_content_region.height
        if not (self.scroll_y <= row < self.scroll_y + height):
            self._scroll_y_to(max(0, row - height // 2))
        self._cache.clear()
        self.refresh()
        self._state_changed()

    def _state_changed(self) -> None:
        self.post_message(self.StateChanged())


def _highlighted(message: str, term: str, style: Style) -> list[Segment]:
    lowered = message.lower()
    segments: list[Segment] = []
    start = 0
    size = len(term)
    # lower() can change lengths for a few scripts; fall back to no highlight then.
    if len(lowered) != len(message):
        return [Segment(message)]
    while True:
        found = lowered.find(term, start)
        if found < 0:
            break
        if found > start:
            segments.append(Segment(message[start:found]))
        segments.append(Segment(message[found : found + size], style))
        start = found + size
    if start < len(message):
        segments.append(Segment(message[start:]))
    return segments
