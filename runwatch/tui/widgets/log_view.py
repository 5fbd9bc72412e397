"""A line-API log viewer: a bounded window of a run's log that follows, scrolls back,
searches, filters and jumps.

It never renders the whole log: `render_line` (log_render) turns one visible row into a
`Strip`, built from the stored (timestamp, message) pair and kept in an LRU. Appends are
batched per frame so a flood of lines costs one refresh, not one per line. Which lines are
shown and in how many rows is `log_shown`'s; the filter, level jumps, marks and goto are
`log_jumps`'s; the search is `log_search`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from runwatch.tui.widgets.log_jumps import LogJumps
from runwatch.tui.widgets.log_lines import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_LINES,
    LogEventLike,
    LogLines,
)
from runwatch.tui.widgets.log_marks import LogMarks, Mark
from runwatch.tui.widgets.log_render import RENDER_CLASSES, RENDER_CSS, STRIP_CACHE_LINES, LogRender
from runwatch.tui.widgets.log_search import LogSearch
from runwatch.tui.widgets.log_shown import ShownRows
from runwatch.tui.widgets.log_text import (
    MAX_SHOWN_CHARS,
    overwritten,
    shown_message,
    styled_message,
)
from runwatch.tui.widgets.repaint import RowPass

__all__ = [
    "DEFAULT_MAX_LINES",
    "MAX_SHOWN_CHARS",
    "LogView",
    "overwritten",
    "shown_message",
    "styled_message",
]


class LogView(LogJumps, LogMarks, LogSearch, LogRender, RowPass, ScrollView, can_focus=True):
    """Holds at most `max_lines` lines and `max_bytes` of them (`log_lines.line_cost`); older
    ones are fetched again when scrolled back to."""

    # The footer shows the keys it has room for, in this order; `?` shows them all.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f,end,G", "follow", "Follow", key_display="f", tooltip="Follow the newest lines"),
        Binding("slash", "search", "Find"),
        Binding("ampersand", "filter", "Filter", key_display="&"),
        Binding("e", "next_error", "Error"),
        Binding("E", "previous_error", "Prev error", show=False),
        Binding("right_square_bracket", "next_warning", "Next warning", show=False),
        Binding("left_square_bracket", "previous_warning", "Prev warning", show=False),
        Binding("L", "cycle_level", "Level"),
        Binding("colon", "goto", "Go to", key_display=":"),
        Binding("J", "toggle_json", "JSON"),
        Binding("M", "mark", "Mark", show=False),
        Binding("apostrophe", "next_mark", "Next mark", show=False),
        Binding("t", "toggle_timestamps", "Time"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("x", "export", "Export"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Prev match", show=False),
        Binding("escape", "escape", "Clear", show=False),
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first_line", "First line", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = RENDER_CLASSES

    DEFAULT_CSS = (
        """
    LogView {
        scrollbar-gutter: stable;
    """
        + RENDER_CSS
        + "}"
    )

    following: reactive[bool] = reactive(True, init=False)
    show_timestamps: reactive[bool] = reactive(True, init=False)
    wrap: reactive[bool] = reactive(False, init=False)
    pretty_json: reactive[bool] = reactive(False, init=False)
    # Shown in the pane's marker, not in the rows: a count going up with every batch while
    # the user reads further up must not repaint them.
    pending: reactive[int] = reactive(0, init=False, repaint=False)

    class NeedOlder(Message):
        """The user reached the top of what is loaded: fetch the page before it."""

    class StateChanged(Message):
        """Following, pending count, search or loading state changed (for the pane's marker)."""

    class ExportRequested(Message):
        pass

    class SearchRequested(Message):
        pass

    class FilterRequested(Message):
        pass

    class GotoRequested(Message):
        pass

    class SeekRequested(Message):
        """What a jump looks for is older than the loaded lines: page back until `seek_step`
        finds it (or the log's start is reached)."""

    class SeekCancelled(Message):
        pass

    class NewestRequested(Message):
        """A mark lies among the newest lines, dropped for older ones: load them again, then
        go to it."""

        def __init__(self, mark: Mark) -> None:
            super().__init__()
            self.mark = mark

    def __init__(
        self,
        *,
        max_lines: int = DEFAULT_MAX_LINES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_lines = max_lines
        self.model = LogLines(max_lines, max_bytes)
        self.rows = ShownRows(self.model)
        # Rows as shown, kept for the frames in which they only move (a dozen screens). Not
        # more: each Strip brings seven caches of its own, and 4,096 of them were most of
        # what every full garbage collection walked (60 ms a walk while a flood scrolled by).
        self._cache: LRUCache[tuple[Any, ...], list[Strip]] = LRUCache(STRIP_CACHE_LINES)
        self._rich_styles: dict[str, Style] = {}
        self._flush_scheduled = False
        self._repaint_due = False
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
        self.init_jumps()

    # -- data ---------------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return len(self.model.lines)

    @property
    def lines(self) -> Sequence[tuple[str, str]]:
        return self.model.lines

    def messages(self) -> list[str]:
        return [message for _, message in self.model.lines]

    def shown_messages(self) -> list[str]:
        """The text of the lines the filter lets through (all held lines without one)."""
        if self.rows.shown is None:
            return self.messages()
        held, base = list(self.model.lines), self.model.base
        return [held[i - base][1] for i in self.rows.shown]

    def reset(self, *, keep_marks: bool = False) -> None:
        self.model.clear()
        self.rows.refilter()
        self._cache.clear()
        self._current_match = None
        self.dropped_front = 0
        self.dropped_tail = False
        self.at_start = False
        self.loading_older = False
        self.pending = 0
        self.following = True
        self.reset_jumps(keep_marks=keep_marks)
        self._update_virtual_size()
        self._scroll_y_to(0)
        self.refresh()
        self._state_changed()

    def append(self, events: Iterable[LogEventLike]) -> None:
        """Add newer lines at the bottom; cheap: the refresh happens once per frame."""
        lines = self.model.lines
        first = self.model.end
        new = self.model.prepare(events, first)
        if not new:
            return
        if not self.following and (self.dropped_tail or self.model.overflows(new)):
            # The user is reading further up: making room would evict the lines under their
            # eyes (or the line a page being loaded above must join), and lines after a
            # dropped tail would follow a hole. They are counted; following again reloads
            # the newest page.
            self.dropped_tail = True
            self.pending += len(new)
            self.model.forget_styles(range(self.model.base, first))
            self._state_changed()
            return
        shown_before = self.rows.count()
        # Whether the new lines change what is on screen: when following (the view moves
        # down to them; lines leave the top only then), when a filter's context may show
        # older lines again, or when the rows shown end inside the view. Otherwise only the
        # scrollbar and the marker change, which repaint themselves.
        self._repaint_due = self._repaint_due or (
            self.following
            or (self.rows.filter is not None and self.rows.filter.before > 0)
            or self.virtual_size.height < self.scroll_y + self.scrollable_content_region.height
        )
        new, dropped = self.model.add_newest(new)
        dropped_rows = self.rows.after_newest(self.model.end - len(new), dropped)
        if dropped:
            self.dropped_front += dropped
            self.at_start = False
        if self._search:
            self._match_new(len(lines) - len(new), len(lines))
        if self._tall():
            self.rows.extend_rows(self._rows_for)
        if not self.following:
            # The new lines, or with a filter the new lines it shows.
            shown = len(new) if self.rows.shown is None else self.rows.count() - shown_before
            self.pending += max(0, shown)
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
        top, sub_row = self._locate(int(self.scroll_y))
        top_line = self.model.base + (top if top >= 0 else 0)
        popped, relabelled = self.model.add_oldest(new)
        if popped:
            # The newest lines made room; following then has to reload them.
            self.dropped_tail = True
            self.following = False
        self.rows.after_oldest(len(new), relabelled)
        if relabelled:
            self._cache.clear()
        if self._search:
            self._recompute_matches()
        self._update_virtual_size()
        # The line that was at the top is now further down: keep it in place.
        if not self.following or self.scroll_y > 0:
            self._scroll_y_to(self._row_of(top_line - self.model.base) + sub_row)
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
        if self._repaint_due:
            # The rows only: not the border (its title and marker repaint their own row
            # when they change) and not the scrollbars (their own widgets).
            self._repaint_due = False
            self.refresh(Region(0, 0, self.size.width, self.size.height))
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

    # -- rendering ------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._rich_styles.clear()

    def on_resize(self, event: events.Resize) -> None:
        if self._tall():
            self.rows.rows_valid = False
            self._update_virtual_size()
        if self.following:
            self._scroll_y_to(self.max_scroll_y)
            self.call_after_refresh(self._stay_at_bottom)

    # -- following and scrolling ----------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._programmatic_scroll:
            return
        if new_value < old_value and self.following and new_value < self.max_scroll_y:
            # Scrolled up. (Fewer rows, as when a filter is applied, clamp the offset down
            # to the new bottom: still following.)
            self.following = False
        elif new_value > old_value and new_value >= self.max_scroll_y and not self.dropped_tail:
            self.following = True
        if new_value <= 0 < old_value:
            self._reached_top()

    def watch_following(self, following: bool) -> None:
        if following:
            self.pending = 0
            self.cursor = None
            self._cache.clear()
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

    def watch_pretty_json(self) -> None:
        self._cache.clear()
        self._relayout()

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

    def action_follow(self) -> None:
        self.following = True
        self._state_changed()

    def action_toggle_timestamps(self) -> None:
        self.show_timestamps = not self.show_timestamps

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def action_toggle_json(self) -> None:
        self.pretty_json = not self.pretty_json

    def action_export(self) -> None:
        self.post_message(self.ExportRequested())

    def action_search(self) -> None:
        self.post_message(self.SearchRequested())

    def action_filter(self) -> None:
        self.post_message(self.FilterRequested())

    def action_goto(self) -> None:
        self.post_message(self.GotoRequested())

    def _state_changed(self) -> None:
        self.post_message(self.StateChanged())
