"""Filtering and jumping in the log viewer: the `&` filter and the level floor, the next and
previous error (`e`/`E`) or warning (`]`/`[`), the first line (`g`), a line number or a time
(`:`), and marks (`M`, `'`).

A mixin of `LogView`. A jump lands on a line (the cursor, highlighted). When the line sought
lies before the loaded lines, the view asks its pane to page back (`SeekRequested`); the pane
loads an older page at a time and calls `seek_step` after each, which scans only the lines
just loaded, until the line is found or the log's start is reached. Marks are remembered by
the line's time and text, so a marked line that left the bounded window is found again when
its page is loaded again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

from runwatch.follow.line_filter import LineFilter
from runwatch.follow.log_levels import Level, LineLevel
from runwatch.tui.widgets.log_goto import Goto

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


class Mark(NamedTuple):
    timestamp: str
    text: str
    index: int  # where it was held: a hint, checked against the time and text


def is_error(line: LineLevel) -> bool:
    return line.starts and (line.level or 0) >= Level.ERROR


def is_warning(line: LineLevel) -> bool:
    return line.starts and line.level == Level.WARNING


@dataclass
class Seek:
    """A line sought before the loaded ones: `step` scans what is loaded since the last
    step, lands and says True once found, None once it cannot be found."""

    what: str
    step: Callable[[], bool | None]
    lines: int = 0  # lines loaded so far while seeking


class LogJumps(_Base):
    if TYPE_CHECKING:
        model: LogLines
        rows: ShownRows
        following: bool
        dropped_tail: bool
        SeekRequested: type[Message]
        NewestRequested: Callable[[Mark], Message]
        _cache: LRUCache[tuple[Any, ...], list[Strip]]

        def _show_index(self, index: int) -> None: ...
        def _layout_changed(self) -> None: ...
        def _state_changed(self) -> None: ...
        def _locate(self, row: int) -> tuple[int, int]: ...
        def _scroll_y_to(self, y: float) -> None: ...

    def init_jumps(self) -> None:
        self.cursor: int | None = None
        self.marks: list[Mark] = []
        self.seeking: Seek | None = None
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

        def step() -> bool:
            nonlocal scanned
            hit = self._find_back(test, scanned, self.model.base)
            scanned = self.model.base
            if hit is None:
                return False
            self.land(hit)
            return True

        self._seek(f"an older {name}", step, f"No {name} before this line")

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
            index = min(max(absolute, self.model.base), self.model.end - 1) - self.model.base
            self.land(self.model.base + self._nearest_shown(index))
            return True

        self._seek(f"line {number:,}", step, "")

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

        self._seek(when.strftime("%Y-%m-%d %H:%M:%S"), step, "")

    def _nearest_shown(self, index: int) -> int:
        position = min(self.rows.position_of(index), max(0, self.rows.count() - 1))
        return self.rows.index_at(position) if self.rows.count() else index

    # -- marks --------------------------------------------------------------------------

    def is_marked(self, absolute: int) -> bool:
        return any(mark.index == absolute for mark in self.marks) and self._holds(absolute)

    def _holds(self, absolute: int) -> bool:
        return self.model.base <= absolute < self.model.end

    def action_mark(self) -> None:
        model = self.model
        if not model.lines:
            return
        absolute = self._origin()
        if absolute >= model.end:
            absolute = model.end - 1
        timestamp, text = model.lines[absolute - model.base]
        for mark in self.marks:
            if mark.index == absolute and (mark.timestamp, mark.text) == (timestamp, text):
                self.marks.remove(mark)
                self.notify("Mark removed", timeout=2)
                break
        else:
            self.marks.append(Mark(timestamp, text, absolute))
            self.marks.sort()
        self.land(absolute)

    def action_next_mark(self) -> None:
        if not self.marks:
            self.notify("No marks: M marks a line", severity="warning")
            return
        here = self._current_mark()
        mark = self.marks[(here + 1) % len(self.marks)] if here is not None else self.marks[0]
        if here is None and self.cursor is not None and self._holds(self.cursor):
            # The first mark after the cursor, by time.
            stamp = self.model.lines[self.cursor - self.model.base][0]
            mark = next((m for m in self.marks if m.timestamp > stamp), self.marks[0])
        self.go_to_mark(mark)

    def _current_mark(self) -> int | None:
        for position, mark in enumerate(self.marks):
            if mark.index == self.cursor and self._mark_held(mark) == mark.index:
                return position
        return None

    def _mark_held(self, mark: Mark) -> int | None:
        """Where the marked line is held now, if it is."""
        model = self.model
        key = (mark.timestamp, mark.text)
        if self._holds(mark.index) and model.lines[mark.index - model.base] == key:
            return mark.index
        for index, line in enumerate(model.lines):
            if line == key:
                return model.base + index
        return None

    def go_to_mark(self, mark: Mark) -> None:
        def step() -> bool | None:
            found = self._mark_held(mark)
            if found is None:
                lines = self.model.lines
                # Loaded past its time without finding it: it is not there any more.
                return None if lines and lines[0][0] < mark.timestamp else False
            self.marks[self.marks.index(mark)] = mark._replace(index=found)
            self.land(found)
            return True

        lines = self.model.lines
        if self.dropped_tail and lines and lines[-1][0] < mark.timestamp:
            # Among the newest lines, dropped to make room for older ones: reload them and
            # page back from there.
            self.post_message(self.NewestRequested(mark))
            return
        self._seek("the marked line", step, "The marked line is no longer in the log")

    # -- seeking older pages ------------------------------------------------------------

    def _seek(self, what: str, step: Callable[[], bool | None], not_found: str) -> None:
        """Find it in what is loaded, or ask the pane to page back until `step` does."""
        self.seeking = None
        found = step()
        if found:
            return
        if found is None or self.at_start:
            if not_found:
                self.notify(not_found, severity="warning")
            return
        self.seeking = Seek(what, step)
        self._not_found = not_found
        self.post_message(self.SeekRequested())
        self._state_changed()

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
