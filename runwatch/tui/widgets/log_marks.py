"""Marks in the log viewer: `M` marks (or unmarks) a line, `'` goes to the next mark.

A mixin of `LogView`. A mark is remembered by its line's time and text (and where it was
held, as a hint), not by its place in the window: a marked line that left the bounded window
is found again by paging back to it (`LogJumps._seek`), or, when it was among the newest
lines dropped for older ones, by loading the newest page again (`NewestRequested`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from runwatch.tui.widgets.log_lines import LogEventLike

if TYPE_CHECKING:
    from textual.message import Message
    from textual.scroll_view import ScrollView

    from runwatch.tui.widgets.log_lines import LogLines

    _Base = ScrollView
else:
    _Base = object


class Mark(NamedTuple):
    timestamp: str
    text: str
    index: int  # where it was held: a hint, checked against the time and text


class LogMarks(_Base):
    if TYPE_CHECKING:
        model: LogLines
        marks: list[Mark]
        cursor: int | None
        dropped_tail: bool
        NewestRequested: Callable[[Mark], Message]

        def land(self, absolute: int) -> None: ...
        def _origin(self) -> int: ...
        def _seek(
            self,
            what: str,
            step: Callable[[], bool | None],
            not_found: str,
            may_hold: Callable[[Sequence[LogEventLike]], bool] | None = None,
        ) -> None: ...

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

        def may_hold(events: Sequence[LogEventLike]) -> bool:
            return bool(events) and events[0].raw_timestamp <= mark.timestamp

        self._seek("the marked line", step, "The marked line is no longer in the log", may_hold)
