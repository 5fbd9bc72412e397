"""Which held lines the log viewer shows, and in how many rows each.

With no filter every held line is shown, one row each. A filter (`&`: a pattern, inverted or
not, with context) and a level floor (warnings and up, errors only) narrow that to a sorted
list of absolute indexes, kept up to date as lines arrive at the bottom, are loaded at the
top, and leave either end. Wrapping and the pretty JSON view give a line several rows: a
cumulative row table over the shown lines, built lazily while either is on.

Positions are indexes into what is shown (0 = the first line shown); indexes are relative to
the lines held (0 = `model.base`), as everywhere in the viewer.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from itertools import accumulate, compress, islice

from runwatch.follow.line_filter import LineFilter, with_context
from runwatch.follow.log_levels import Level
from runwatch.tui.widgets.log_lines import LogLines


class ShownRows:
    def __init__(self, model: LogLines) -> None:
        self.model = model
        self.filter: LineFilter | None = None
        self.min_level: Level | None = None
        # Absolute indexes of the lines shown, or None: every held line.
        self.shown: list[int] | None = None
        # Absolute indexes of the held lines the filter itself keeps (context not counted).
        self.hits: list[int] = []
        # Cumulative rows per shown position; valid for `rows_key` only.
        self.cum: list[int] = [0]
        self.rows_key: object = None
        self.rows_valid = False

    @property
    def active(self) -> bool:
        return self.filter is not None or self.min_level is not None

    # -- filtering --------------------------------------------------------------------------

    def set(self, line_filter: LineFilter | None, min_level: Level | None) -> None:
        self.filter = line_filter
        self.min_level = min_level
        self.refilter()

    def refilter(self) -> None:
        self.rows_valid = False
        if not self.active:
            self.shown = None
            self.hits = []
            return
        model = self.model
        self.hits = self._matches_in(model.base, model.end)
        self.shown = self._with_context(model.base, model.end)

    def _matches_in(self, start: int, stop: int) -> list[int]:
        """Absolute indexes in [start, stop) of the lines the filter and level floor keep."""
        model = self.model
        first, last = start - model.base, stop - model.base
        found: list[int] | None = None
        if self.min_level is not None:
            floor = self.min_level
            passing = bytes(1 if code & 63 >= floor else 0 for code in range(256))
            flags = model.codes[first:last].translate(passing)
            found = list(compress(range(start, stop), flags))
        if self.filter is not None:
            source = model.lowered if self.filter.ignore_case else (t for _, t in model.lines)
            matched = self.filter.indices(islice(source, first, last), start)
            if found is not None:
                keep = set(found)
                matched = [i for i in matched if i in keep]
            found = matched
        return found or []

    def _with_context(self, start: int, stop: int) -> list[int]:
        line_filter = self.filter
        if line_filter is None:
            return with_context(self.hits, 0, 0, start, stop)
        return with_context(self.hits, line_filter.before, line_filter.after, start, stop)

    def after_newest(self, first_new: int, dropped_lines: int) -> int:
        """Lines from `first_new` on were added at the bottom and `dropped_lines` left the
        top (beyond `max_lines`). Returns how many rows left the top of what is shown."""
        model = self.model
        if self.shown is None:
            dropped = dropped_lines
        else:
            del self.hits[: bisect.bisect_left(self.hits, model.base)]
            dropped = bisect.bisect_left(self.shown, model.base)
            del self.shown[:dropped]
        rows = self.rows_before(dropped) if self.rows_valid else dropped
        if dropped:
            self.rows_valid = False
        if self.shown is None:
            return rows
        self.hits.extend(self._matches_in(max(first_new, model.base), model.end))
        # The new lines, and the lines a new match's context reaches back to.
        before = self.filter.before if self.filter is not None else 0
        start = max(model.base, first_new - before)
        cut = bisect.bisect_left(self.shown, start)
        tail = self._with_context(start, model.end)
        if cut < len(self.shown) and tail[: len(self.shown) - cut] != self.shown[cut:]:
            self.rows_valid = False  # a position before the old end changed
        del self.shown[cut:]
        self.shown.extend(tail)
        return rows

    def after_oldest(self, count: int, changed: int) -> None:
        """`count` lines were added at the top (newest lines may have left the bottom);
        `changed` lines after them changed level."""
        if self.shown is None:
            return
        model = self.model
        del self.hits[bisect.bisect_left(self.hits, model.end) :]
        del self.shown[bisect.bisect_left(self.shown, model.end) :]
        read_to = min(model.end, model.base + count + changed)
        self.hits[: bisect.bisect_left(self.hits, read_to)] = self._matches_in(model.base, read_to)
        after = self.filter.after if self.filter is not None else 0
        stop = min(model.end, read_to + after)
        self.shown[: bisect.bisect_left(self.shown, stop)] = self._with_context(model.base, stop)
        self.rows_valid = False

    def hit_after(self, absolute: int, direction: int) -> int | None:
        """The nearest hit after (direction > 0) or before `absolute`."""
        hits = self.hits
        if direction > 0:
            position = bisect.bisect_right(hits, absolute)
            return hits[position] if position < len(hits) else None
        position = bisect.bisect_left(hits, absolute) - 1
        return hits[position] if position >= 0 else None

    # -- positions --------------------------------------------------------------------------

    def count(self) -> int:
        return len(self.model.lines) if self.shown is None else len(self.shown)

    def index_at(self, position: int) -> int:
        """The held line at `position` (relative index)."""
        if self.shown is None:
            return position
        return self.shown[position] - self.model.base

    def position_of(self, index: int) -> int:
        """The position of held line `index`, or of the first shown line after it."""
        if self.shown is None:
            return index
        return bisect.bisect_left(self.shown, self.model.base + index)

    def is_shown(self, index: int) -> bool:
        if self.shown is None:
            return 0 <= index < len(self.model.lines)
        absolute = self.model.base + index
        position = bisect.bisect_left(self.shown, absolute)
        return position < len(self.shown) and self.shown[position] == absolute

    # -- rows -------------------------------------------------------------------------------

    def ensure_rows(self, key: object, rows_for: Callable[[str], int]) -> None:
        """Build the row table for `key` (width and modes) if it is not that one already;
        `rows_for` tells the rows of one line's text."""
        if self.rows_valid and key == self.rows_key:
            return
        self.cum = list(accumulate(map(rows_for, self._texts(0)), initial=0))
        self.rows_key = key
        self.rows_valid = True

    def extend_rows(self, rows_for: Callable[[str], int]) -> None:
        """Positions were added at the end: extend a valid table to them."""
        if not self.rows_valid:
            return
        total = self.cum[-1]
        for text in self._texts(len(self.cum) - 1):
            total += rows_for(text)
            self.cum.append(total)

    def _texts(self, position: int) -> Iterator[str]:
        """The text of each shown line from `position` on."""
        lines = self.model.lines
        if self.shown is None:
            return (text for _, text in islice(lines, position, None))
        # A deque's random access walks its blocks: index a copy when many lines are read.
        held = list(lines) if len(self.shown) - position > 64 else lines
        base = self.model.base
        return (held[i - base][1] for i in islice(self.shown, position, None))

    def rows_before(self, positions: int) -> int:
        """Rows the first `positions` shown lines take (after `ensure_rows`)."""
        return self.cum[min(positions, len(self.cum) - 1)]

    def locate(self, row: int) -> tuple[int, int]:
        """Position and sub-row of row `row` (after `ensure_rows`)."""
        position = bisect.bisect_right(self.cum, row) - 1
        return position, row - self.cum[position]
