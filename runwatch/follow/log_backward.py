"""Paging back through a run's log from the oldest event held, with or without tokens.

With a usable backward token each page is exactly the one before the last (the contract:
tokens are positions). Without one (the server said `null`, nothing, or sent its token back
with events) the pager goes by time: the newest page up to the end of the second of the oldest
event held, minus the held events by count (`log_edges.before_edge`). `end_time` is read two
ways by servers (the whole second, or that instant), so the ends asked for cover both: the page
may overlap what is held, never leave a hole. When more than a page lies at the time of the
oldest event held, the seconds around it are read oldest first through `logs` and cut by count
the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import takewhile

from runwatch.api.models import LogEvent
from runwatch.api.wire_values import parse_time
from runwatch.follow.log_edges import (
    Edge,
    TokenAnswer,
    before_edge,
    classify_token,
    floor_second,
    next_second,
    oldest_edge,
)
from runwatch.follow.log_source import LogSource

__all__ = ["BackwardPager"]

# The most events `older` hands out at once (a server's page is up to 1,000 here).
MAX_PAGE = 1000
# Two seconds of a flood can be tens of thousands of lines: enough pages to read them whole.
MAX_SECOND_PAGES = 200


class BackwardPager:
    """Hands out the pages before `front`, oldest first each, newest page first.

    `front` is the oldest edge of what the caller holds; `token` a backward token that
    points just before it, if the server gave a usable one.
    """

    def __init__(
        self,
        source: LogSource,
        front: Edge | None,
        token: str | None = None,
        *,
        at_start: bool = False,
    ) -> None:
        self.source = source
        self.front = front
        self.token = token
        self.reached_start = at_start
        # Older events read but not handed out yet: a dense second can be read whole, and
        # a caller gets at most a page at a time, so what it holds stays joined to the front.
        self._leftover: list[LogEvent] = []

    @property
    def at_start(self) -> bool:
        return self.reached_start and not self._leftover

    @at_start.setter
    def at_start(self, value: bool) -> None:
        self.reached_start = value

    @classmethod
    def before_held(cls, source: LogSource, held: Sequence[tuple[str, str]]) -> BackwardPager:
        """A pager for the lines before `held`, (timestamp, text) oldest first: a view that
        dropped lines from its top to stay bounded pages back from what it still holds, by
        time, knowing how many of its first lines share the first one's time."""
        first = held[0][0] if held else None
        when = parse_time(first) if first else None
        if when is None:
            return cls(source, None, at_start=True)
        count = sum(1 for _ in takewhile(lambda line: line[0] == first, held))
        return cls(source, Edge(when, count))

    def note_front(self, events: list[LogEvent]) -> None:
        """The caller put `events` (oldest first) in front of what it held."""
        self.front = oldest_edge(events, self.front)

    async def older(self) -> list[LogEvent]:
        """The page before the oldest event held, oldest first; [] once at the start."""
        if self._leftover:
            events = self._leftover[-MAX_PAGE:]
            del self._leftover[-MAX_PAGE:]
        else:
            if self.front is None:
                # Nothing held, or nothing with a time to page back from: no way further back.
                self.reached_start = True
            if self.reached_start:
                return []
            events = await (self._by_token() if self.token else self._by_time())
            if len(events) > MAX_PAGE:
                self._leftover = events[:-MAX_PAGE]
                events = events[-MAX_PAGE:]
        if events:
            self.note_front(events)
        return events

    async def _by_token(self) -> list[LogEvent]:
        sent = self.token
        page = await self.source.recent(backward=sent)
        answer = classify_token(page.backward, sent)
        if not page.events:
            self.at_start = True
            return []
        if answer is TokenAnswer.SAME:
            # The token sent back with events: they may be the held ones again. By time.
            self.token = None
            return await self._by_time()
        self.token = page.backward if answer is TokenAnswer.USABLE else None
        if answer is TokenAnswer.NO_MORE:
            self.at_start = True
        return page.events

    async def _by_time(self) -> list[LogEvent]:
        assert self.front is not None
        front = self.front
        second = floor_second(front.time)
        page = await self.source.recent(end=next_second(front.time))
        events = before_edge(page.events, front)
        if events or not page.events:
            self._after_time_page(page.backward, events)
            return events
        # The newest page up to there holds nothing older than what is held: more than a
        # page lies at the front's time. Read from the second before it, oldest first.
        before = second - timedelta(seconds=1)
        events = await self._read_before_front(before, front)
        if events:
            return events
        # Nothing from that second on: what lies before it, whichever way `end_time` is read.
        page = await self.source.recent(end=before)
        events = before_edge(page.events, front)
        self._after_time_page(page.backward, events)
        return events

    def _after_time_page(self, token: object, events: list[LogEvent]) -> None:
        if not events:
            self.at_start = True
            return
        answer = classify_token(token, None)
        # The token of a time page points before its oldest event, which is now the front.
        self.token = token if isinstance(token, str) and answer is TokenAnswer.USABLE else None
        if answer is TokenAnswer.NO_MORE:
            self.at_start = True

    async def _read_before_front(self, start: datetime, front: Edge) -> list[LogEvent]:
        collected: list[LogEvent] = []
        token: str | None = None
        for _ in range(MAX_SECOND_PAGES):
            page = await self.source.logs(token=token, start=start, end=next_second(front.time))
            collected.extend(page.events)
            answer = classify_token(page.forward, token)
            if answer is not TokenAnswer.USABLE or not page.events:
                break
            token = page.forward
        return before_edge(collected, front)
