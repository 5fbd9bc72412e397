"""Search in the log viewer: the term, its matches among the loaded lines, and stepping
through them with n / N (the keys belong to the screen again once the search is cleared);
and escape, which clears the search, the filter or a seek (or is the screen's when none).

A mixin of `LogView`: the matches live in its `LogLines` (by absolute index, so they survive
lines added and dropped), the stepping and jumping here.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.cache import LRUCache
    from textual.message import Message
    from textual.scroll_view import ScrollView
    from textual.strip import Strip

    from runwatch.tui.widgets.log_jumps import Seek
    from runwatch.tui.widgets.log_lines import LogLines
    from runwatch.tui.widgets.log_shown import ShownRows

    # For the type checker the mixin is the ScrollView it is mixed into.
    _Base = ScrollView
else:
    _Base = object


class LogSearch(_Base):
    """Needs the viewer's model, strip cache, geometry helpers and state message."""

    if TYPE_CHECKING:
        model: LogLines
        _cache: LRUCache[tuple[Any, ...], list[Strip]]
        _search: str
        _current_match: int | None
        following: bool
        rows: ShownRows
        seeking: Seek | None
        SeekCancelled: type[Message]

        def clear_filter(self) -> None: ...

        def _locate(self, row: int) -> tuple[int, int]: ...
        def _show_index(self, index: int) -> None: ...
        def _state_changed(self) -> None: ...

    @property
    def search_term(self) -> str:
        return self._search

    @property
    def match_count(self) -> int:
        return len(self.model.matches)

    @property
    def current_match_number(self) -> int | None:
        if self._current_match is None:
            return None
        position = bisect.bisect_left(self.model.matches, self._current_match)
        return position + 1

    def search(self, term: str) -> int:
        """Highlight `term` (case-insensitive) and jump to the last match above the bottom."""
        self._search = term.lower()
        self._cache.clear()
        self._recompute_matches()
        self._current_match = None
        if self.model.matches:
            index = self._locate(int(self.scroll_y) + self.size.height)[0]
            bottom = self.model.base + index if index >= 0 else self.model.end
            position = bisect.bisect_right(self.model.matches, bottom) - 1
            self._jump_to(self.model.matches[max(0, position)])
        self.refresh()
        self.refresh_bindings()  # n / N now step through matches
        self._state_changed()
        return len(self.model.matches)

    def _recompute_matches(self) -> None:
        self.model.recompute_matches(self._search)

    def _match_new(self, start: int, stop: int) -> None:
        self.model.match_new(self._search, start, stop)

    def action_clear_search(self) -> None:
        self._search = ""
        self.model.matches = []
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
        matches = [m for m in self.model.matches if m >= self.model.base]
        self.model.matches = matches
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
        self._show_index(absolute - self.model.base)
        self._cache.clear()
        self.refresh()
        self._state_changed()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "previous_match"):
            # Without a search these keys belong to the screen (n = new run).
            return bool(self._search)
        if action == "escape":
            # Nothing to clear: escape is the screen's.
            return bool(self._search) or self.rows.active or self.seeking is not None
        return True

    def action_escape(self) -> None:
        """Escape undoes the latest thing first: a seek, then the search, then the filter."""
        if self.seeking is not None:
            self.post_message(self.SeekCancelled())
        elif self._search:
            self.action_clear_search()
        else:
            self.clear_filter()
