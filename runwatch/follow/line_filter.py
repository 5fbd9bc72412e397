"""Which lines of a log a reader asked to see: a pattern, inverted or not, with context.

The spec is what a user types after `&` in the log pane:

    PATTERN            lines holding PATTERN (smart case: case-sensitive once it has a capital)
    !PATTERN           lines NOT holding it
    /REGEX/            a regular expression, always; without slashes PATTERN is one when it
                       looks like one (`^`, `$`, `\\d`, `.*`, `[…]`, `(…)`, `a|b`) and compiles
    "TEXT"             plain text, always (`"a.*b"` is those four characters)
    … -C N / -A N / -B N   N lines of context around / after / before each match (as grep)

Matching is over the text as shown (`line_text.plain_text`), which the caller holds. UI-free:
the log pane filters with it, and any other reader of a log could.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import compress

__all__ = ["FilterError", "LineFilter", "parse_filter", "with_context"]

MAX_CONTEXT = 1000
_CONTEXT = re.compile(r"\s+-([ABC])\s*(\d+)\s*$")
_REGEX_HINTS = re.compile(r"\\[dwsbDWSB.]|\.[*+?]|\[.+\]|\(.*\)|\||^\^|\$$|\{\d+(,\d*)?\}")


class FilterError(ValueError):
    """A spec that cannot be a filter; the message is one line for the user."""


@dataclass(frozen=True)
class LineFilter:
    spec: str
    pattern: str
    regex: bool
    invert: bool
    before: int
    after: int
    ignore_case: bool
    compiled: re.Pattern[str]

    def indices(self, haystack: Iterable[str], first: int = 0) -> list[int]:
        """The indexes of the lines that match, in order; `haystack` is the lines' text from
        index `first` on, lower-cased where `ignore_case` says (the caller keeps both: case
        folding a hundred thousand lines again for each key typed would cost more than the
        match itself).

        Each kind of test is its own comprehension: a call per line is most of the cost.
        """
        pattern, numbered = self.pattern, enumerate(haystack, first)
        if not self.regex:
            if self.invert:
                return [i for i, text in numbered if pattern not in text]
            return [i for i, text in numbered if pattern in text]
        search = self.compiled.search
        if self.invert:
            return [i for i, text in numbered if search(text) is None]
        return [i for i, text in numbered if search(text)]

    def matches(self, text: str) -> bool:
        """Whether one line's text (as shown, any case) matches, inversion applied."""
        haystack = text.lower() if self.ignore_case else text
        return (
            self.compiled.search(haystack) is not None if self.regex else self.pattern in haystack
        ) != self.invert

    def describe(self) -> str:
        """The filter in a few words, for a marker line."""
        words = ("hiding " if self.invert else "") + (
            f"/{self.pattern}/" if self.regex else repr(self.pattern)
        )
        if self.before == self.after and self.before:
            words += f" -C {self.before}"
        else:
            if self.before:
                words += f" -B {self.before}"
            if self.after:
                words += f" -A {self.after}"
        return words


def parse_filter(spec: str) -> LineFilter:
    """The filter `spec` asks for (see the module's doc); FilterError when it cannot be."""
    text = spec.strip()
    before = after = 0
    while match := _CONTEXT.search(text):
        count = min(int(match.group(2)), MAX_CONTEXT)
        kind = match.group(1)
        if kind in "BC":
            before = count
        if kind in "AC":
            after = count
        text = text[: match.start()].rstrip()
    invert = text.startswith("!")
    if invert:
        text = text[1:].lstrip()
    forced: bool | None = None
    if len(text) >= 2 and text[0] == text[-1] == "/":
        text, forced = text[1:-1], True
    elif len(text) >= 2 and text[0] == text[-1] == '"':
        text, forced = text[1:-1], False
    if not text:
        raise FilterError("empty filter: type some text to keep the lines holding it")
    # Smart case, as in less and ripgrep: a capital means the case matters. Without one the
    # pattern is matched against the lower-cased text, which is what ignoring case means for
    # a pattern with no capital (a class like [a-z] included), and much faster than
    # re.IGNORECASE.
    ignore_case = text == text.lower()
    regex = forced if forced is not None else bool(_REGEX_HINTS.search(text))
    compiled: re.Pattern[str] | None = None
    if regex:
        try:
            compiled = re.compile(text)
        except re.error as error:
            if forced:
                raise FilterError(f"not a regular expression: {error}") from None
            regex = False  # looked like one, is not: plain text then ("foo(" finds "foo(")
    if compiled is None:
        compiled = re.compile(re.escape(text))
    return LineFilter(spec.strip(), text, regex, invert, before, after, ignore_case, compiled)


def with_context(
    matches: Sequence[int], before: int, after: int, start: int, stop: int
) -> list[int]:
    """The indexes in [start, stop) within `before` lines before or `after` lines after one of
    `matches` (sorted), in order, each once."""
    low = bisect_left(matches, start - after)
    high = bisect_left(matches, stop + before)
    if not before and not after:
        return list(matches[low:high])
    # Runs of lines to show, merged as they come (dense matches make few runs), then read
    # back through a flag a line by `compress`: a hundred thousand matches cost milliseconds.
    size = stop - start
    runs: list[tuple[int, int]] = []
    run_low = run_high = -1
    for match in matches[low:high]:
        first = match - before - start
        if first <= run_high:
            run_high = match + after + 1 - start
        else:
            if run_high > run_low:
                runs.append((run_low, run_high))
            run_low, run_high = first, match + after + 1 - start
    if run_high > run_low:
        runs.append((run_low, run_high))
    shown = bytearray(size)
    for first, end in runs:
        first, end = max(0, first), min(size, end)
        if end > first:
            shown[first:end] = b"\x01" * (end - first)
    return list(compress(range(start, stop), shown))
