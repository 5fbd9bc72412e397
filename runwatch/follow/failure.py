"""Why a run failed, read from the end of its log: its last traceback or error lines.

Shared by `runwatch logs -f` / `runwatch watch` (the summary on stderr), `runwatch runs
--reason` and the dashboard's detail pane. The newest page (`recentlogs` without a token) is
read first; older pages only when the failure found there began before it (a traceback whose
first lines lie on an older page, or the second half of a chained traceback), at most
`MAX_PAGES` pages in all. A log that ends in an error therefore costs one request however long
it is. Pages back go through `BackwardPager`, so every token shape a server may answer works.

Lines are read as shown (`line_text.plain_text`) with the shared level reading
(`log_levels.LevelReader`): a traceback is one block from `Traceback (most recent call
last):` to its exception line, chained tracebacks included; an error line is one whose level
is ERROR or CRITICAL. The failure is the last such block; error lines right next to a
traceback (only blank lines between, as `logging.exception` writes them) belong to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runwatch.follow.line_text import plain_text
from runwatch.follow.log_backward import BackwardPager
from runwatch.follow.log_edges import TokenAnswer, classify_token, oldest_edge
from runwatch.follow.log_levels import (
    TRACEBACK_START,
    Level,
    LevelReader,
    LineLevel,
    is_chain_line,
)
from runwatch.follow.log_source import LogSource

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = [
    "FailureSummary",
    "find_failure",
    "read_failure",
    "summarize",
]

# Pages read at most (the newest included): 16 of the engine's 1,000 lines reach back over
# the longest tracebacks Python prints (a RecursionError's repeats are folded into one line).
MAX_PAGES = 16
# Lines a summary keeps: the first of a traceback (where it began) and the innermost frames
# with the exception (where it ended); the middle is counted, not shown.
MAX_LINES = 24
HEAD_LINES = 3
# A line longer than this is cut: a summary is a glance, the log pane has the whole line.
MAX_WIDTH = 300
MAX_REASON = 200
# The last lines of a log whose failure names no error: the best clue there is.
TAIL_LINES = 5


@dataclass(frozen=True)
class FailureSummary:
    """What a failed run's log says about its end.

    `reason` is the exception line of the last traceback, or the last error line; None when
    the log names no error, and `lines` are then its last lines. `lines` are plain text (no
    escapes), at most `MAX_LINES` of at most `MAX_WIDTH` characters; `omitted` counts the
    lines of the block left out of the middle. `requests` is what finding it cost.
    """

    reason: str | None
    lines: tuple[str, ...]
    omitted: int = 0
    requests: int = 0
    # Lines before the block were not read (the page bound was reached first).
    incomplete: bool = False

    @property
    def found(self) -> bool:
        return self.reason is not None

    def shown_lines(self) -> list[str]:
        """`lines` with the omitted middle marked where it was left out."""
        if not self.omitted:
            return list(self.lines)
        head = list(self.lines[:HEAD_LINES])
        return [*head, f"  … {self.omitted} lines …", *self.lines[HEAD_LINES:]]


@dataclass
class _Block:
    start: int
    end: int  # exclusive
    traceback: bool
    # Index of the exception line (traceback) or of the last error line.
    reason: int | None
    # True when the block may have begun before the first line read.
    open_above: bool = False


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _body_like(text: str) -> bool:
    """A line a traceback holds between its first line and its exception line."""
    return not text.strip() or text[0] in " \t" or is_chain_line(text)


def _exception_line(text: str) -> bool:
    return (
        bool(text)
        and text[0] not in " \t"
        and not text.startswith(TRACEBACK_START)
        and not is_chain_line(text)
    )


def _headless(texts: Sequence[str]) -> _Block | None:
    """The end of a traceback that began above the first line read: frames (indented), then
    its exception line. Only asked when the lines read do not start at the log's start."""
    index = 0
    seen_frame = False
    while index < len(texts) and _body_like(texts[index]):
        seen_frame = seen_frame or bool(texts[index].strip())
        index += 1
    if not seen_frame:
        return None
    reason = None
    if index < len(texts) and _exception_line(texts[index]):
        reason = index
        index += 1
    return _Block(0, index, True, reason, open_above=True)


def _blocks(texts: Sequence[str], levels: Sequence[LineLevel], at_start: bool) -> list[_Block]:
    blocks: list[_Block] = []
    first = 0
    if not at_start:
        headless = _headless(texts)
        if headless is not None:
            blocks.append(headless)
            first = headless.end
    for index in range(first, len(texts)):
        level = levels[index]
        last = blocks[-1] if blocks else None
        if level.in_traceback:
            if last is not None and last.traceback and not level.starts:
                last.end = index + 1
            elif last is not None and _only_blank_between(texts, last.end, index):
                # Error lines written just before a traceback (logging.exception) join it.
                last.end, last.traceback = index + 1, True
                last.reason = None
            else:
                above = not at_start and _chained(texts, index)
                blocks.append(_Block(index, index + 1, True, None, open_above=above))
            if _exception_line(texts[index]):
                blocks[-1].reason = index
        elif level.level is not None and level.level >= Level.ERROR:
            if last is not None and _only_blank_between(texts, last.end, index):
                last.end = index + 1
                if not last.traceback:
                    last.reason = index
            else:
                blocks.append(_Block(index, index + 1, False, index))
    return blocks


def _only_blank_between(texts: Sequence[str], start: int, end: int) -> bool:
    return all(not texts[i].strip() for i in range(start, end))


def _chained(texts: Sequence[str], index: int) -> bool:
    """A traceback that a chain line ("During handling of the above exception…") ties to
    one before it: read as a new block, its first part lies above the lines read."""
    before = index - 1
    while before >= 0 and not texts[before].strip():
        before -= 1
    return before < 0 or is_chain_line(texts[before])


def _levels(texts: Sequence[str]) -> list[LineLevel]:
    reader = LevelReader()
    return [reader.read(text) for text in texts]


def _last_block(texts: Sequence[str], at_start: bool) -> _Block | None:
    blocks = _blocks(texts, _levels(texts), at_start)
    return blocks[-1] if blocks else None


def summarize(
    texts: Sequence[str], *, at_start: bool = True, requests: int = 0
) -> FailureSummary | None:
    """The failure in `texts` (plain lines, oldest first); None when there are no lines.

    `at_start`: the lines begin at the log's first line (else a traceback at the top may have
    begun above them, and is marked `incomplete`).
    """
    if not texts:
        return None
    block = _last_block(texts, at_start)
    if block is None:
        tail = [_cut(text, MAX_WIDTH) for text in texts[-TAIL_LINES:]]
        return FailureSummary(None, tuple(tail), requests=requests)
    lines = [_cut(text, MAX_WIDTH) for text in texts[block.start : block.end]]
    while lines and not lines[-1].strip():
        lines.pop()
    omitted = 0
    if len(lines) > MAX_LINES:
        keep_tail = MAX_LINES - HEAD_LINES
        omitted = len(lines) - MAX_LINES
        lines = lines[:HEAD_LINES] + lines[-keep_tail:]
    reason_index = block.reason if block.reason is not None else block.end - 1
    reason = _cut(texts[reason_index].strip(), MAX_REASON)
    return FailureSummary(
        reason, tuple(lines), omitted, requests, incomplete=block.open_above and not at_start
    )


async def find_failure(source: LogSource, *, max_pages: int = MAX_PAGES) -> FailureSummary | None:
    """The failure at the end of `source`'s log (see the module doc); None for an empty log.

    Reads the newest page, then pages back only while the last block found began above
    what was read, up to `max_pages` pages in all.
    """
    before = source.traffic.requests
    page = await source.recent()
    backward = classify_token(page.backward, None)
    pager = BackwardPager(
        source,
        oldest_edge(page.events, None),
        page.backward if backward is TokenAnswer.USABLE else None,
        at_start=not page.events or backward is TokenAnswer.NO_MORE,
    )
    texts = [plain_text(event.message) for event in page.events]
    pages = 1
    while pages < max_pages and not pager.at_start:
        block = _last_block(texts, at_start=False)
        if block is None or not block.open_above:
            break
        older = await pager.older()
        pages += 1
        if not older:
            break
        texts = [plain_text(event.message) for event in older] + texts
    return summarize(texts, at_start=pager.at_start, requests=source.traffic.requests - before)


async def read_failure(
    client: AsyncAPIClient,
    organization_id: str,
    deployment_id: str,
    run_id: str,
    *,
    max_pages: int = MAX_PAGES,
) -> FailureSummary | None:
    """`find_failure` on a run's log, for callers that hold no `LogSource` of their own."""
    source = LogSource(client, organization_id, deployment_id, run_id)
    return await find_failure(source, max_pages=max_pages)
