"""A line-API log viewer: a bounded window of a run's log that follows, scrolls back and searches.

It never renders the whole log: `render_line` turns one visible row into a `Strip`, built from
the stored (timestamp, message) pair and kept in an LRU. Appends are batched per frame so a
flood of lines costs one refresh, not one per line.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runwatch.tui.widgets.log_lines import (
    DEFAULT_MAX_LINES,
    TIMESTAMP_WIDTH,
    LogEventLike,
    LogLines,
    display_timestamp,
)
from runwatch.tui.widgets.log_search import LogSearch
from runwatch.tui.widgets.log_text import (
    MAX_SHOWN_CHARS,
    coloured_segments,
    highlighted_segments,
    overwritten,
    shown_message,
    styled_message,
)
from runwatch.tui.widgets.repaint import RowPass, set_virtual_size

__all__ = [
    "DEFAULT_MAX_LINES",
    "MAX_SHOWN_CHARS",
    "LogView",
    "overwritten",
    "shown_message",
    "styled_message",
]


class LogView(LogSearch, RowPass, ScrollView, can_focus=True):
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
        self.model = LogLines(max_lines)
        self._cache: LRUCache[tuple[int, bool, str, int], Strip] = LRUCache(4096)
        self._flush_scheduled = False
        self._programmatic_scroll = False
        self._search = ""
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
        return len(self.model.lines)

    @property
    def lines(self) -> Sequence[tuple[str, str]]:
        return self.model.lines

    def messages(self) -> list[str]:
        return [message for _, message in self.model.lines]

    def reset(self) -> None:
        self.model.clear()
        self._cache.clear()
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

    def append(self, events: Iterable[LogEventLike]) -> None:
        """Add newer lines at the bottom; cheap: the refresh happens once per frame."""
        lines = self.model.lines
        first = self.model.base + len(lines)
        new = self.model.prepare(events, first)
        if not new:
            return
        if not self.following and (self.dropped_tail or len(lines) + len(new) > self.max_lines):
            # The user is reading further up: making room would evict the lines under their
            # eyes (or the line a page being loaded above must join), and lines after a
            # dropped tail would follow a hole. They are counted; following again reloads
            # the newest page.
            self.dropped_tail = True
            self.pending += len(new)
            self.model.forget_styles(range(self.model.base, first))
            self._state_changed()
            return
        new, dropped, dropped_rows = self.model.add_newest(
            new, wrapped=self.wrap, prefix=self._prefix_width()
        )
        if dropped:
            self.dropped_front += dropped
            self.at_start = False
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
        new = self.model.prepare(events, self.model.base - len(events))
        if not new:
            return
        if self.model.add_oldest(new):
            # The newest lines made room; following then has to reload them.
            self.dropped_tail = True
            self.following = False
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
            return self.model.wrap_cum[-1]
        return len(self.model.lines)

    def _update_virtual_size(self) -> None:
        # Without a layout of the screen: the pane's size does not depend on its lines. It
        # clamps the scroll position at once (a reset to fewer lines): not the user scrolling.
        self._programmatic_scroll = True
        try:
            if self.wrap:
                size = Size(self._content_width(), self._total_rows())
            else:
                size = Size(self.model.max_width + self._prefix_width(), len(self.model.lines))
            set_virtual_size(self, size)
        finally:
            self._programmatic_scroll = False

    # -- wrapping (row counts computed lazily, only while wrap is on) ----------------------

    def _ensure_wrap(self) -> None:
        self.model.ensure_wrap(self._content_width(), self._prefix_width())

    def _locate(self, row: int) -> tuple[int, int]:
        """Line index and wrapped sub-row of visual row `row`."""
        if not self.wrap:
            return row, 0
        self._ensure_wrap()
        return self.model.locate_wrapped(row)

    def _row_of(self, index: int) -> int:
        if not self.wrap:
            return index
        self._ensure_wrap()
        return self.model.wrapped_row_of(index)

    # -- rendering ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        if self.wrap:
            self.model.wrap_valid = False
            self._update_virtual_size()
        if self.following:
            self._scroll_y_to(self.max_scroll_y)
            self.call_after_refresh(self._stay_at_bottom)

    def _line_strip(self, index: int) -> Strip:
        absolute = self.model.base + index
        current = self._current_match == absolute
        key = (absolute, self.show_timestamps, self._search, int(current))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        raw_timestamp, message = self.model.lines[index]
        segments: list[Segment] = []
        if self.show_timestamps:
            segments.append(
                Segment(
                    display_timestamp(raw_timestamp) + " ",
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
        spans = self.model.styles.get(absolute)
        if spans:
            segments.extend(
                coloured_segments(message, spans, highlight, self._search, self.app.console)
            )
        elif highlight is not None:
            segments.extend(highlighted_segments(message, self._search, highlight))
        else:
            segments.append(Segment(message))
        strip = Strip(segments)
        self._cache[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        (scroll_x, scroll_y), width, base_style = self.row_pass()  # once per frame
        index, sub_row = self._locate(scroll_y + y)
        if index < 0 or index >= len(self.model.lines):
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
        self.model.wrap_valid = False
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
        if self.model.wrap_valid and len(self.model.wrap_cum) > 1:
            return bisect.bisect_right(self.model.wrap_cum, self.scroll_y) - 1
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "previous_match", "clear_search"):
            # Without a search these keys belong to the screen (n = new run).
            return bool(self._search)
        return True

    def _state_changed(self) -> None:
        self.post_message(self.StateChanged())
