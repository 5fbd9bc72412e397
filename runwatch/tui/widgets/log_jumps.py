"""Filtering and jumping in the log viewer: the `&` filter and the level floor, the next and
previous error (`e`/`E`) or warning (`]`/`[`), the first line (`g`), a line number or a time
(`:`); the marks (`M`, `'`) are `log_marks`'s, which seek the same way.

A mixin of `LogView`. A jump lands on a line (the cursor, highlighted). When the line sought
lies before the loaded lines, the view asks its pane to page back (`SeekRequested`); the pane
loads older pages (`panes/log_seek`) and calls `seek_step` whenever it hands some over, which
scans only the lines just loaded, until the line is found or the log's start is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from runwatch.follow.line_filter import LineFilter
from runwatch.follow.line_text import plain_text
from runwatch.follow.log_levels import Level, LineLevel, levels_of
from runwatch.tui.widgets.log_goto import Goto
from runwatch.tui.widgets.log_lines import LogEventLike
from runwatch.tui.widgets.log_marks import Mark

if TYPE_CHECKING:
    from textual.cache import LRUCache
    from textual.message import Message
    from textual.scroll_view import ScrollView
    from textual.strip import Strip

    from runwatch.tui.widgets.log_lines import LogLines
    from runwatch.tui.widgets.log_shown import ShownRows

    _Base = ScrollView
else:
    _Base = object

LEVEL_FLOORS: tuple[Level | None, ...] = (None, Level.WARNING, Level.ERROR)


def is_error(line: LineLevel) -> bool:
    return line.starts and (line.level or 0) >= Level.ERROR


def is_warning(line: LineLevel) -> bool:
    return line.starts and line.level == Level.WARNING


def _never(events: Sequence[LogEventLike]) -> bool:
    return False


@dataclass
class Seek:
    """A line sought before the loaded ones: `step` scans what is loaded since the last
    step, lands and says True once found, None once it cannot be found."""

    what: str
    step: Callable[[], bool | None]
    # Whether a page (oldest first) may hold it: the pane loads pages without showing them
    # (a frame a page cost more than the page) until one may, then hands them all over.
    may_hold: Callable[[Sequence[LogEventLike]], bool]
    lines: int = 0  # lines loaded so far while seeking


class LogJumps(_Base):
    if TYPE_CHECKING:
        model: LogLines
        rows: ShownRows
        following: bool
        dropped_tail: bool
        SeekRequested: type[Message]
        _cache: LRUCache[tuple[Any, ...], list[Strip]]
        max_lines: int
        dropped_front: int
        _search: str

        def _recompute_matches(self) -> None: ...

        def _show_index(self, index: int) -> None: ...
        def _layout_changed(self) -> None: ...
        def _state_changed(self) -> None: ...
        def _locate(self, row: int) -> tuple[int, int]: ...
        def _scroll_y_to(self, y: float) -> None: ...

    def init_jumps(self) -> None:
        self.cursor: int | None = None
        self.marks: list[Mark] = []
        self.seeking: Seek | None = None
        self.replaced = 0  # how often replace_lines ran: indexes before it mean nothing after
        self._not_found = ""
        self._at_start = False
        self.start_index: int | None = None
        """The absolute index of the log's first line, once loaded (line numbers count
        from it)."""

    def reset_jumps(self, *, keep_marks: bool) -> None:
        self.cursor = None
        self.seeking = None
        self.start_index = None
        if not keep_marks:
            self.marks = []

    @property
    def at_start(self) -> bool:
        return self._at_start

    @at_start.setter
    def at_start(self, value: bool) -> None:
        self._at_start = value
        if value and self.start_index is None:
            self.start_index = self.model.base

    # -- filter and level floor ---------------------------------------------------------

    @property
    def line_filter(self) -> LineFilter | None:
        return self.rows.filter

    @property
    def min_level(self) -> Level | None:
        return self.rows.min_level

    @property
    def filter_hits(self) -> int:
        return len(self.rows.hits)

    def apply_filter(self, line_filter: LineFilter | None, min_level: Level | None) -> int:
        """Show only the lines `line_filter` and `min_level` keep; the number that match."""
        self.rows.set(line_filter, min_level)
        self._layout_changed()
        self.refresh_bindings()
        return len(self.rows.hits)

    def set_filter(self, line_filter: LineFilter | None) -> int:
        return self.apply_filter(line_filter, self.rows.min_level)

    def clear_filter(self) -> None:
        self.apply_filter(None, None)

    def action_cycle_level(self) -> None:
        floor = LEVEL_FLOORS[(LEVEL_FLOORS.index(self.rows.min_level) + 1) % len(LEVEL_FLOORS)]
        self.apply_filter(self.rows.filter, floor)

    # -- landing ------------------------------------------------------------------------

    def land(self, absolute: int) -> None:
        """Put the cursor on held line `absolute` and bring it into view."""
        self.cursor = absolute
        self.following = False
        self._cache.clear()
        self._show_index(absolute - self.model.base)
        self.refresh()
        self._state_changed()

    def _origin(self) -> int:
        """Where a jump starts from: the cursor, the newest line when following, or the line
        at the top of the view."""
        model = self.model
        if self.cursor is not None and model.base <= self.cursor < model.end:
            return self.cursor
        if self.following:
            return model.end
        index = self._locate(int(self.scroll_y))[0]
        return model.base + max(0, index)

    def _find_back(self, test: Callable[[LineLevel], bool], start: int, stop: int) -> int | None:
        """The newest shown line in [stop, start) passing `test` (absolute indexes)."""
        model = self.model
        first, last = max(stop, model.base) - model.base, min(start, model.end) - model.base
        if last <= first:
            return None
        levels = reversed(model.levels)
        skip = len(model.levels) - last
        for offset, line in enumerate(islice(levels, skip, skip + last - first)):
            index = last - 1 - offset
            if test(line) and self.rows.is_shown(index):
                return model.base + index
        return None

    def _find_forward(self, test: Callable[[LineLevel], bool], start: int) -> int | None:
        model = self.model
        first = max(start, model.base) - model.base
        for index, line in enumerate(islice(model.levels, first, None), first):
            if test(line) and self.rows.is_shown(index):
                return model.base + index
        return None

    # -- errors and warnings ------------------------------------------------------------

    def action_next_error(self) -> None:
        self._jump_level(is_error, "error", +1)

    def action_previous_error(self) -> None:
        self._jump_level(is_error, "error", -1)

    def action_next_warning(self) -> None:
        self._jump_level(is_warning, "warning", +1)

    def action_previous_warning(self) -> None:
        self._jump_level(is_warning, "warning", -1)

    def _jump_level(self, test: Callable[[LineLevel], bool], name: str, direction: int) -> None:
        origin = self._origin()
        if direction > 0 and not (self.following and self.cursor is None):
            found = self._find_forward(test, origin + 1)
            if found is None:
                self.notify(f"No later {name} in the loaded log", severity="warning")
            else:
                self.land(found)
            return
        # Backwards, or `e` while following: the newest one before here.
        found = self._find_back(test, origin, self.model.base)
        if found is not None:
            self.land(found)
            return
        scanned = self.model.base
        replaced = self.replaced

        def step() -> bool:
            nonlocal scanned, replaced
            if replaced != self.replaced:
                # The held lines were replaced (replace_lines): all of them are new.
                scanned, replaced = self.model.end, self.replaced
            hit = self._find_back(test, scanned, self.model.base)
            scanned = self.model.base
            if hit is None:
                return False
            self.land(hit)
            return True

        def may_hold(events: Sequence[LogEventLike]) -> bool:
            return any(map(test, levels_of([plain_text(e.message) for e in events])))

        self._seek(f"an older {name}", step, f"No {name} before this line", may_hold)

    # -- first line, line number, time --------------------------------------------------

    def action_first_line(self) -> None:
        def step() -> bool:
            if not self.at_start:
                return False
            self.following = False
            self._scroll_y_to(0)
            if self.rows.count():
                self.land(self.model.base + self.rows.index_at(0))
            return True

        self._seek("the first line", step, "")

    def goto(self, target: Goto) -> None:
        if isinstance(target, int):
            self._goto_line(target)
        else:
            self._goto_time(target)

    def _goto_line(self, number: int) -> None:
        def step() -> bool:
            if self.start_index is None:
                return False
            absolute = self.start_index + number - 1
            if absolute < self.model.base and not self.at_start:
                return False
            if absolute >= self.model.end and self.dropped_tail:
                return None  # paged past it without keeping it: the window is bounded
            index = min(max(absolute, self.model.base), self.model.end - 1) - self.model.base
            self.land(self.model.base + self._nearest_shown(index))
            return True

        # The window is bounded by lines and by the size of their text (log_lines).
        bound = f"{self.max_lines:,} lines or {self.model.max_bytes / 2**20:g} MiB of text"
        passed = f"Line {number:,} was paged past: the pane holds {bound} at most"
        self._seek(f"line {number:,}", step, passed)

    def _goto_time(self, when: datetime) -> None:
        # The wire's fixed ISO form compares as text, in time order.
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"

        def step() -> bool:
            lines = self.model.lines
            if not lines:
                return self.at_start
            if lines[0][0] > stamp and not self.at_start:
                return False
            index = next((i for i, (t, _) in enumerate(lines) if t >= stamp), len(lines) - 1)
            self.land(self.model.base + self._nearest_shown(index))
            return True

        def may_hold(events: Sequence[LogEventLike]) -> bool:
            return bool(events) and events[0].raw_timestamp <= stamp

        self._seek(when.strftime("%Y-%m-%d %H:%M:%S"), step, "", may_hold)

    def _nearest_shown(self, index: int) -> int:
        position = min(self.rows.position_of(index), max(0, self.rows.count() - 1))
        return self.rows.index_at(position) if self.rows.count() else index

    # -- seeking older pages ------------------------------------------------------------

    def _seek(
        self,
        what: str,
        step: Callable[[], bool | None],
        not_found: str,
        may_hold: Callable[[Sequence[LogEventLike]], bool] | None = None,
    ) -> None:
        """Find it in what is loaded, or ask the pane to page back until `step` does."""
        self.seeking = None
        found = step()
        if found:
            return
        if found is None or self.at_start:
            if not_found:
                self.notify(not_found, severity="warning")
            return
        self.seeking = Seek(what, step, may_hold or _never)
        self._not_found = not_found
        # Lines arriving meanwhile are counted, not appended: they would push out the top,
        # where the pages being loaded join.
        self.following = False
        self.post_message(self.SeekRequested())
        self._state_changed()

    def replace_lines(self, events: Sequence[LogEventLike], *, at_start: bool) -> None:
        """Hold only `events`, a stretch of the log older than what was held (a seek skipped
        the pages between): the newest lines are then dropped, as after paging back."""
        model = self.model
        model.clear()
        model.add_newest(model.prepare(events[-self.max_lines :], 0))
        self.replaced += 1
        self.rows.refilter()
        self._cache.clear()
        self.dropped_front = 0
        self.dropped_tail = True
        self.following = False
        self.cursor = None
        self.start_index = None
        self.at_start = at_start
        if self._search:
            self._recompute_matches()
        self._layout_changed()

    def seek_step(self, loaded: int) -> bool:
        """After a page of `loaded` lines: True once the seek is over (found or given up)."""
        seek = self.seeking
        if seek is None:
            return True
        seek.lines += loaded
        found = seek.step()
        if found:
            self.seeking = None
            self._state_changed()
            return True
        if found is None or self.at_start:
            self.seek_failed()
            return True
        return False

    def seek_failed(self, reason: str = "") -> None:
        if self.seeking is not None and (reason or self._not_found):
            self.notify(reason or self._not_found, severity="warning")
        self.seeking = None
        self._state_changed()
