"""The level of a log line, read from the text as shown, and Python tracebacks as one block.

Shared by the log pane (colours, glyphs, the level filter, jumping to errors) and the failure
summary (the CLI and the detail pane): one reading of what counts as an error.

Recognised: the level words of Python logging, loguru and most loggers (`WARNING`, `WARN`,
`ERROR`, `CRITICAL`, `FATAL`, `DEBUG`, `INFO`, `TRACE`, upper case, as a word, near the start
of the line), logfmt's `level=…`, glog's `E1201 12:00:00.000 …` prefix, a JSON line's
`level`/`levelname`/`severity`, Python's `…Warning:` lines, and a Python traceback from
`Traceback (most recent call last):` to its exception line, chained tracebacks included,
read as one error block that starts on its first line.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from enum import IntEnum
from itertools import accumulate
from typing import NamedTuple


class Level(IntEnum):
    TRACE = 5
    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50


_WORDS: dict[str, Level] = {
    "TRACE": Level.TRACE,
    "DEBUG": Level.DEBUG,
    "INFO": Level.INFO,
    "NOTICE": Level.INFO,
    "WARN": Level.WARNING,
    "WARNING": Level.WARNING,
    "ERROR": Level.ERROR,
    "ERR": Level.ERROR,
    "CRITICAL": Level.CRITICAL,
    "FATAL": Level.CRITICAL,
    "PANIC": Level.CRITICAL,
}

# Where a level word is looked for: loggers put it in their prefix, and a word further on
# is part of the message ("loss went up, not an ERROR") more often than it is the level.
HEAD = 80
# An upper-case level word standing alone (not "ERRORS", not "INFO_DIR"), or logfmt's
# `level=warn` in any case.
_LEVEL_WORD = re.compile(
    r"(?<![\w-])(TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|ERR|CRITICAL|FATAL|PANIC)(?![\w-])"
    r"|(?<![\w-])(?:level|lvl|severity|levelname)=\"?([A-Za-z]+)",
)
# Every line is read as it arrives, and most name no level at all: this literal search, about
# seven times cheaper than `_LEVEL_WORD`, rules them out before the full pattern runs.
_HINT = re.compile(r"TRACE|DEBUG|INFO|NOTICE|WARN|ERR|CRITICAL|FATAL|PANIC|level|lvl|severity")
# What in a line's head can give it a level, with the first characters below: `_HINT`'s
# words and Python's `Warning: `.
_HEAD_HINT = re.compile(_HINT.pattern + "|Warning: ")
# The first characters of a JSON object, a glog line and a traceback ("" for an empty line).
_HINT_STARTS = "{IWEFT"
# Below this many lines a batch is read line by line (the one search costs more).
_BATCH_FROM = 16
_UNSEARCHED_BATCHES = 20
_GLOG = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d\d")
_GLOG_LEVELS = {"I": Level.INFO, "W": Level.WARNING, "E": Level.ERROR, "F": Level.CRITICAL}
# Python's warnings module: "/path/train.py:12: UserWarning: message".
_PY_WARNING = re.compile(r"(?:^|: )\w*Warning: ")
_JSON_LEVEL_KEYS = ("level", "levelname", "severity", "lvl", "log.level")

TRACEBACK_START = "Traceback (most recent call last):"
_CHAINS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


def is_chain_line(text: str) -> bool:
    """A line that ties a traceback to the one before it ("During handling of the above
    exception…", "The above exception was the direct cause…")."""
    return text.startswith(_CHAINS)


# A traceback's last line: the exception's (dotted) name, then its message if any.
_EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(?::|$)")


def word_level(word: str) -> Level | None:
    """The level a level word names (any case), or None."""
    return _WORDS.get(word.upper())


def json_level(text: str) -> Level | None:
    """The level of a JSON object line (`level`, `levelname`, `severity`), or None."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    for key in _JSON_LEVEL_KEYS:
        word = value.get(key)
        if isinstance(word, str):
            return word_level(word)
        if isinstance(word, int) and not isinstance(word, bool):
            # Numeric levels (pino, bunyan: 30 info, 40 warn, 50 error; Python: 40 error).
            return _numeric_level(word)
    return None


def _numeric_level(number: int) -> Level:
    # pino and bunyan's scale, the loggers that write numbers: 60 fatal, 50 error, 40 warn,
    # 30 info, 20 debug, 10 trace.
    for floor, level in (
        (60, Level.CRITICAL),
        (50, Level.ERROR),
        (40, Level.WARNING),
        (30, Level.INFO),
        (20, Level.DEBUG),
    ):
        if number >= floor:
            return level
    return Level.TRACE


def level_of(text: str) -> Level | None:
    """The level one line states, read alone (see `LevelReader` for tracebacks)."""
    if not text:
        return None
    if text[0] == "{" and text.rstrip().endswith("}"):
        found = json_level(text)
        if found is not None:
            return found
    if text[0] in "IWEF":
        glog = _GLOG.match(text)
        if glog is not None:
            return _GLOG_LEVELS[glog.group(1)]
    head = text[:HEAD]
    if _HINT.search(head) is not None:
        match = _LEVEL_WORD.search(head)
        if match is not None:
            level = word_level(match.group(1) or match.group(2))
            if level is not None:
                return level
    if "Warning: " in head and _PY_WARNING.search(head):
        return Level.WARNING
    return None


class LineLevel(NamedTuple):
    level: Level | None
    # True on the first line of what a reader would call one message: every line, except the
    # lines after the first of a traceback. Jumping to errors lands only on these.
    starts: bool
    # True on every line of a traceback block.
    in_traceback: bool = False


# The readings of a line outside a traceback, made once: `read` runs for every line.
_PLAIN: dict[Level | None, LineLevel] = {
    level: LineLevel(level, True, False) for level in (None, *Level)
}
_BLOCK_START = LineLevel(Level.ERROR, True, True)
_BLOCK_LINE = LineLevel(Level.ERROR, False, True)
_BLANK_AFTER = LineLevel(None, False, False)


class LevelReader:
    """Reads lines in log order and tells each one's level, tracebacks as one block.

    Reading a log from a point other than its start (a page scrolled back) may begin inside a
    traceback: its lines then read as plain lines until the next block starts, which is the
    best anyone can do without the lines before.
    """

    def __init__(self) -> None:
        self._in_traceback = False
        self._after_exception = False
        # Batches `read_many` reads line by line before it searches again (see there).
        self._unsearched = 0

    def reset(self) -> None:
        self._in_traceback = False
        self._after_exception = False

    @property
    def in_block(self) -> bool:
        """Whether the next line may still belong to a traceback read so far."""
        return self._in_traceback or self._after_exception

    def read_many(self, texts: list[str]) -> list[LineLevel]:
        """`read` of each text in order, the lines that can have no level found in one pass.

        A line outside a traceback has a level only if its head holds a level word (or
        `Warning: `) or it starts like a JSON object, a glog line or a traceback; one search
        over the batch's heads finds those lines, and only they (and the lines of a block)
        are read one by one: most lines of a log pouring in name no level, and reading each
        was a tenth of the dashboard's CPU at 5,000 lines/s (tests/bench/bench_soak.py).
        """
        count = len(texts)
        if count < _BATCH_FROM or self._unsearched:
            # A log whose lines mostly name a level (Python logging's INFO on every line):
            # the search finds nearly every line and costs more than it saves. It is tried
            # again after a few batches.
            self._unsearched = max(0, self._unsearched - 1)
            return [self.read(text) for text in texts]
        heads = [text[:HEAD] for text in texts]
        joined = "\n".join(heads)
        if joined.count("\n") != count - 1:  # a text with a line break: no line map
            return [self.read(text) for text in texts]
        starts = list(accumulate((len(head) + 1 for head in heads), initial=0))
        marked = {bisect_right(starts, m.start()) - 1 for m in _HEAD_HINT.finditer(joined)}
        marked.update(i for i, text in enumerate(texts) if text[:1] in _HINT_STARTS)
        plain = _PLAIN[None]
        read = self.read
        levels: list[LineLevel] = []
        done = 0
        if len(marked) > count // 2:
            self._unsearched = _UNSEARCHED_BATCHES
        for line in (*sorted(marked), count):
            # The lines before this one can have no level, once any block they continue ends.
            while done < line and self.in_block:
                levels.append(read(texts[done]))
                done += 1
            levels.extend([plain] * (line - done))
            if line < count:
                levels.append(read(texts[line]))
            done = line + 1
        return levels

    def read(self, text: str) -> LineLevel:
        if text.startswith(TRACEBACK_START):
            # A chained traceback ("During handling of the above exception…") continues the
            # block that the first one started.
            starts = not self._after_exception
            self._in_traceback = True
            self._after_exception = False
            return _BLOCK_START if starts else _BLOCK_LINE
        if self._in_traceback:
            if not text.strip() or text[0] in " \t":
                return _BLOCK_LINE
            if text.startswith(_CHAINS):
                return _BLOCK_LINE
            self._in_traceback = False
            if _EXCEPTION_LINE.match(text):
                self._after_exception = True
                return _BLOCK_LINE
        elif self._after_exception:
            if not text.strip():
                return _BLANK_AFTER
            if text.startswith(_CHAINS):
                return _BLOCK_LINE
            self._after_exception = False
        return _PLAIN[level_of(text)]


def levels_of(texts: list[str]) -> list[LineLevel]:
    """Each line's level, read in order from the first (see `LevelReader`)."""
    return LevelReader().read_many(texts)
