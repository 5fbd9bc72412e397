"""What the log viewer holds, apart from the widget: its lines, their colours, levels and
lower-cased text, their widths and the search matches, all by absolute index in the log as
loaded. Which of them are shown, and in how many rows, is `log_shown`'s.

Indexes are absolute (`base` is the index of `lines[0]`) so that cache keys and matches
survive lines added at the top and lines dropped from it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import Protocol

from rich.cells import cell_len

from runwatch.follow.log_levels import LevelReader, LineLevel
from runwatch.tui.format import inert
from runwatch.tui.widgets.log_text import Span, styled_messages

DEFAULT_MAX_LINES = 100_000
# What the held lines may take, counted as `line_cost` (their characters and a line's own
# objects): 100,000 lines of 10,000 characters would hold a gigabyte where lines of 80 take
# 30 MB. About 22,000 lines of 80 characters, 600 of 10,000; older ones are fetched again
# when scrolled back to, as with `max_lines`. It is also what bounds the dashboard's growth
# after its first minute at any rate (issue 15: under 10 MB; the pane's lines grow until
# this is reached, ~8 MB of process size at most; tests/bench/bench_soak.py).
DEFAULT_MAX_BYTES = 6 * 1024 * 1024
# A held line's objects beyond its characters: the (timestamp, message) tuple, the two
# strings' headers, the timestamp's 25 characters, its slots in the deques (tracemalloc:
# about 190 bytes a line of 80 characters, 265 with them).
LINE_OVERHEAD = 200
TIMESTAMP_WIDTH = 25  # "2026-01-01 00:00:00.000Z "


def line_cost(line: tuple[str, str]) -> int:
    """What one held line counts against `max_bytes` (characters, not encoded bytes)."""
    return len(line[1]) + LINE_OVERHEAD


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


_CODES: dict[LineLevel, int] = {}


def level_code(level: LineLevel) -> int:
    """A line's level in a byte: the level's number (0 for none), +64 on the first line of a
    message, +128 inside a traceback. Readings are a handful of shared values: looked up."""
    code = _CODES.get(level)
    if code is None:
        code = _CODES[level] = (
            (level.level or 0) | (64 if level.starts else 0) | (128 if level.in_traceback else 0)
        )
    return code


class LogLines:
    """At most `max_lines` (timestamp, message) lines, and at most `max_bytes` of them as
    `line_cost` counts them, measured, with their levels.

    Beside each line: its level (`log_levels`, read once as it arrives, tracebacks as one
    block) and its text lower-cased for the filter and the search (the same string when it
    has no capital, so most lines cost no memory for it).
    """

    def __init__(
        self, max_lines: int = DEFAULT_MAX_LINES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        # The `line_cost` of the lines held.
        self.size = 0
        self.lines: deque[tuple[str, str]] = deque(maxlen=max_lines)
        self.levels: deque[LineLevel] = deque(maxlen=max_lines)
        # The same levels a byte a line (`level_code`): the level floor reads them all at C
        # speed (bytes.translate), where a Python loop over the deque took tens of ms.
        self.codes = bytearray()
        self.lowered: deque[str] = deque(maxlen=max_lines)
        # The colours of the lines that have any, by absolute index (most lines have none).
        self.styles: dict[int, list[Span]] = {}
        self.base = 0
        self.max_width = 0
        self.matches: list[int] = []
        # Reads the levels of lines added at the bottom, across batches (a traceback may
        # arrive in two).
        self._reader = LevelReader()

    @property
    def end(self) -> int:
        """The absolute index after the newest line held."""
        return self.base + len(self.lines)

    def clear(self) -> None:
        self.lines.clear()
        self.levels.clear()
        self.codes.clear()
        self.lowered.clear()
        self.styles.clear()
        self.base = 0
        self.size = 0
        self.max_width = 0
        self.matches = []
        self._reader = LevelReader()

    def overflows(self, new: list[tuple[str, str]]) -> bool:
        """Whether holding `new` at the bottom would drop lines from the top."""
        if len(self.lines) + len(new) > self.max_lines:
            return True
        return self.size + sum(map(line_cost, new)) > self.max_bytes

    def prepare(self, events: Iterable[LogEventLike], first: int) -> list[tuple[str, str]]:
        """The events as held lines; the colours of those that have any go in `styles`
        under their absolute index, `first` being the first event's."""
        events = events if isinstance(events, list) else list(events)
        stamps = [event.raw_timestamp for event in events]
        if not "".join(stamps).isprintable():
            stamps = list(map(inert, stamps))
        texts, colours = styled_messages([event.message for event in events])
        for place, spans in colours.items():
            self.styles[first + place] = spans
        return list(zip(stamps, texts, strict=True))

    def forget_styles(self, keep: range) -> None:
        if self.styles:
            self.styles = {i: spans for i, spans in self.styles.items() if i in keep}

    def measure(self, texts: list[str], joined: str) -> None:
        """Widen `max_width` to the widest of the new lines (`joined`: their texts joined)."""
        width = max(map(len if joined.isascii() else cells, texts))
        if width > self.max_width:
            self.max_width = width

    @staticmethod
    def _lowered(texts: list[str], joined: str) -> list[str]:
        """Each text lower-cased, the text itself where that changes nothing."""
        low = joined.lower()
        if low == joined:
            return texts
        if len(low) == len(joined):  # the same length: the same lines, cut at the same "\n"
            lows = low.split("\n")
            return [text if low == text else low for text, low in zip(texts, lows, strict=True)]
        lowered = []
        for text in texts:
            low = text.lower()
            lowered.append(text if low == text else low)
        return lowered

    def add_newest(self, new: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
        """Hold `new` at the bottom, dropping the oldest lines beyond `max_lines` or
        `max_bytes`.

        Returns the lines held (a batch larger than the bounds loses its own first lines at
        once: the search and the shown rows count on every new line being held; the newest
        line is always held) and how many lines went from the top.
        """
        lines = self.lines
        costs = list(map(line_cost, new))
        skipped = max(0, len(new) - self.max_lines)
        added = sum(costs[skipped:]) if skipped else sum(costs)
        while added > self.max_bytes and skipped < len(new) - 1:
            added -= costs[skipped]
            skipped += 1
        if skipped:
            new = new[skipped:]
            self.base += skipped
        overflow = len(lines) + len(new) - self.max_lines
        if skipped:
            # The held lines are older than the skipped ones: they go too, or a hole.
            dropped, size = len(lines), added
        else:
            dropped = min(overflow, len(lines)) if overflow > 0 else 0
            size = self.size + added - sum(map(line_cost, islice(lines, dropped)))
            # Then by bytes: the oldest lines until the rest fit.
            for line in islice(lines, dropped, None):
                if size <= self.max_bytes:
                    break
                size -= line_cost(line)
                dropped += 1
        if dropped > max(0, overflow):
            # More than the deques' `maxlen` drops as the new lines are added.
            self._drop_oldest(dropped)
        self.size = size
        self.base += dropped
        texts = [text for _, text in new]
        # Held texts have no line break (control characters are made inert): joined, the
        # batch is tested and lower-cased in one go.
        joined = "\n".join(texts)
        levels = self._reader.read_many(texts)
        self.levels.extend(levels)
        self.codes.extend(map(level_code, levels))
        if len(self.codes) > self.max_lines:
            del self.codes[: len(self.codes) - self.max_lines]
        self.lowered.extend(self._lowered(texts, joined))
        lines.extend(new)
        if dropped or skipped:
            self.forget_styles(range(self.base, self.base + len(lines)))
        self.measure(texts, joined)
        return new, skipped + dropped

    def _drop_oldest(self, count: int) -> None:
        """Drop the first `count` lines held (`base` is the caller's)."""
        for held in (self.lines, self.levels, self.lowered):
            for _ in range(count):
                held.popleft()
        del self.codes[:count]

    def add_oldest(self, new: list[tuple[str, str]]) -> tuple[int, int]:
        """Hold `new` at the top. Returns how many of the newest lines were dropped to make
        room, and how many lines after the new ones changed level (a traceback that began
        in the page loaded now is one block with its lines below)."""
        lines = self.lines
        room = self.max_lines - len(lines)
        popped = min(len(new) - room, len(lines)) if len(new) > room else 0
        size = self.size + sum(map(line_cost, new))
        newest = reversed(lines)
        size -= sum(map(line_cost, islice(newest, popped)))
        # By bytes too: the newest lines go until the rest fit (the page itself stays whole).
        for line in newest:
            if size <= self.max_bytes:
                break
            size -= line_cost(line)
            popped += 1
        self.size = size
        for _ in range(popped):
            lines.pop()
            self.levels.pop()
            self.lowered.pop()
        if popped:
            del self.codes[-popped:]
            # The bottom is no longer where the appends continue from.
            self._reader = LevelReader()
        reader = LevelReader()
        levels = [reader.read(text) for _, text in new]
        relabelled = 0
        for index, (_, text) in enumerate(lines):
            if not reader.in_block:
                break
            self.levels[index] = level = reader.read(text)
            self.codes[index] = level_code(level)
            relabelled = index + 1
        lines.extendleft(reversed(new))
        self.levels.extendleft(reversed(levels))
        self.codes[0:0] = bytes(map(level_code, levels))
        texts = [text for _, text in new]
        joined = "\n".join(texts)
        self.lowered.extendleft(reversed(self._lowered(texts, joined)))
        self.base -= len(new)
        if popped:
            self.forget_styles(range(self.base, self.base + len(lines)))
        self.measure(texts, joined)
        return popped, relabelled

    # -- search ---------------------------------------------------------------------------

    def recompute_matches(self, term: str) -> None:
        self.matches = (
            [i for i, text in enumerate(self.lowered, self.base) if term in text] if term else []
        )

    def match_new(self, term: str, start: int, stop: int) -> None:
        for i, text in enumerate(islice(self.lowered, start, stop), self.base + start):
            if term in text:
                self.matches.append(i)
