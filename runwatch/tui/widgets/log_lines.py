"""What the log viewer holds, apart from the widget: its lines, their colours, their widths,
the wrapped-row table and the search matches, all by absolute index in the log as loaded.

Indexes are absolute (`base` is the index of `lines[0]`) so that cache keys and matches
survive lines added at the top and lines dropped from it.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from rich.cells import cell_len

from runwatch.tui.format import inert
from runwatch.tui.widgets.log_text import Span, styled_message

DEFAULT_MAX_LINES = 100_000
TIMESTAMP_WIDTH = 25  # "2026-01-01 00:00:00.000Z "


def cells(message: str) -> int:
    """Columns `message` takes on screen: wide (CJK, emoji) characters take two."""
    return len(message) if message.isascii() else cell_len(message)


class LogEventLike(Protocol):
    @property
    def message(self) -> str: ...
    @property
    def raw_timestamp(self) -> str: ...


def display_timestamp(raw: str) -> str:
    # The wire format is fixed ISO 8601 (2018-01-01T00:00:00.000000Z): slicing is enough
    # and costs nothing per line, unlike parsing. The Z stays: the times are UTC, which a
    # user nine hours east of it must not mistake for their own clock.
    if len(raw) >= 23 and raw[10] == "T":
        return raw[:10] + " " + raw[11:23] + ("Z" if raw.endswith("Z") else " ")
    return raw[:24].ljust(24)


class LogLines:
    """At most `max_lines` (timestamp, message) lines, measured and (lazily) wrapped."""

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES) -> None:
        self.max_lines = max_lines
        self.lines: deque[tuple[str, str]] = deque(maxlen=max_lines)
        # The colours of the lines that have any, by absolute index (most lines have none).
        self.styles: dict[int, list[Span]] = {}
        self.base = 0
        self.max_width = 0
        # Cumulative wrapped rows per line, valid for `wrap_width` (only while wrap is on).
        self.wrap_cum: list[int] = [0]
        self.wrap_width = 0
        self.wrap_valid = False
        self.matches: list[int] = []

    def clear(self) -> None:
        self.lines.clear()
        self.styles.clear()
        self.base = 0
        self.max_width = 0
        self.wrap_cum = [0]
        self.wrap_valid = False
        self.matches = []

    def prepare(self, events: Iterable[LogEventLike], first: int) -> list[tuple[str, str]]:
        """The events as held lines; the colours of those that have any go in `styles`
        under their absolute index, `first` being the first event's."""
        new: list[tuple[str, str]] = []
        for index, event in enumerate(events, first):
            text, spans = styled_message(event.message)
            if spans:
                self.styles[index] = spans
            new.append((inert(event.raw_timestamp), text))
        return new

    def forget_styles(self, keep: range) -> None:
        if self.styles:
            self.styles = {i: spans for i, spans in self.styles.items() if i in keep}

    def measure(self, new: list[tuple[str, str]]) -> None:
        """Widen `max_width` to the widest of the new lines."""
        width = max(map(cells, [message for _, message in new]))
        if width > self.max_width:
            self.max_width = width

    def add_newest(
        self, new: list[tuple[str, str]], *, wrapped: bool, prefix: int
    ) -> tuple[list[tuple[str, str]], int, int]:
        """Hold `new` at the bottom, dropping the oldest lines beyond `max_lines`.

        Returns the lines held (a batch larger than `max_lines` loses its own first lines at
        once: the search and the wrap table count on every new line being held), how many
        lines went from the top, and how many screen rows they took.
        """
        lines = self.lines
        skipped = max(0, len(new) - self.max_lines)
        if skipped:
            new = new[skipped:]
            self.base += skipped
        overflow = len(lines) + len(new) - self.max_lines
        dropped = min(overflow, len(lines)) if overflow > 0 else 0
        dropped_rows = 0
        if overflow > 0:
            dropped_rows = self.wrap_cum[dropped] if wrapped and self.wrap_valid else dropped
            self.base += dropped
            self.wrap_valid = False
        lines.extend(new)
        if overflow > 0 or skipped:
            self.forget_styles(range(self.base, self.base + len(lines)))
        self.measure(new)
        if self.wrap_valid:
            self.extend_wrap(new, prefix)
        return new, skipped + dropped, dropped_rows

    def add_oldest(self, new: list[tuple[str, str]]) -> bool:
        """Hold `new` at the top; True when the newest lines were dropped to make room."""
        lines = self.lines
        room = self.max_lines - len(lines)
        if len(new) > room:
            for _ in range(min(len(new) - room, len(lines))):
                lines.pop()
        lines.extendleft(reversed(new))
        self.base -= len(new)
        if len(new) > room:
            self.forget_styles(range(self.base, self.base + len(lines)))
        self.measure(new)
        self.wrap_valid = False
        return len(new) > room

    # -- wrapping -------------------------------------------------------------------------

    @staticmethod
    def rows_for(message: str, width: int, prefix: int) -> int:
        return max(1, -(-(prefix + cells(message)) // width))

    def ensure_wrap(self, width: int, prefix: int) -> None:
        if self.wrap_valid and width == self.wrap_width:
            return
        cumulative = [0]
        total = 0
        rows_for = self.rows_for
        for _, message in self.lines:
            total += rows_for(message, width, prefix)
            cumulative.append(total)
        self.wrap_cum = cumulative
        self.wrap_width = width
        self.wrap_valid = True

    def extend_wrap(self, new: list[tuple[str, str]], prefix: int) -> None:
        width = self.wrap_width
        total = self.wrap_cum[-1]
        for _, message in new:
            total += self.rows_for(message, width, prefix)
            self.wrap_cum.append(total)

    def locate_wrapped(self, row: int) -> tuple[int, int]:
        """Line index and sub-row of wrapped row `row` (after `ensure_wrap`)."""
        index = bisect.bisect_right(self.wrap_cum, row) - 1
        return index, row - self.wrap_cum[index]

    def wrapped_row_of(self, index: int) -> int:
        """The first wrapped row of line `index` (after `ensure_wrap`)."""
        return self.wrap_cum[min(index, len(self.wrap_cum) - 1)]

    # -- search ---------------------------------------------------------------------------

    def recompute_matches(self, term: str) -> None:
        base = self.base
        self.matches = (
            [base + i for i, (_, message) in enumerate(self.lines) if term in message.lower()]
            if term
            else []
        )

    def match_new(self, term: str, start: int, stop: int) -> None:
        base = self.base
        lines = self.lines
        for i in range(start, stop):
            if term in lines[i][1].lower():
                self.matches.append(base + i)
