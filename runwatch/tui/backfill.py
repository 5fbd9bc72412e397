"""Fetching again the lines the log pane dropped to stay bounded.

The follower's backward token points before the first page it ever loaded; once the pane
has dropped lines from its top while following, that token is on the far side of a gap. This
pager restarts backward paging from the oldest line the pane still holds: `recentlogs` with
`end_time` one second after that line gives the newest page up to there, and from then on the
backward token pages on exactly, as the contract promises.

Where in that page the held lines begin is found by counting, not by matching text: the pane
knows how many of its lines fall up to `end_time`, and the server's page ends with those same
lines. Matching text alone cannot tell apart lines written in one burst that share their time
and text (blank lines, progress dots), and joined at the wrong one of them it doubled or lost
lines. Text is still checked at the join, and searched when the count cannot be known.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.models import LogEvent

# Enough to get past every line logged within one second at flood rates.
MAX_SEARCH_PAGES = 200
# How many of the held lines, from the top, a page must read the same as to join there.
JOIN_WINDOW = 2000


class DroppedLinesPager:
    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        run_id: str,
        held: Sequence[tuple[str, str]],
        *,
        tail_complete: bool = True,
    ) -> None:
        """`held`: the pane's lines from the top, as shown; `tail_complete`: they run on to the
        newest line the pane has had (no newer lines were dropped to make room)."""
        from runwatch.api.models import parse_time

        self.client = client
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.run_id = run_id
        self.at_start = False
        self._token: str | None = None
        when = parse_time(held[0][0])
        # One second later: servers disagree on whether end_time is inclusive, and the text
        # check at the join (or the search) takes care of the lines of that second.
        self._end: datetime | None = when + timedelta(seconds=1) if when else None
        self._window = list(islice(held, JOIN_WINDOW))
        self._held_to_end = _count_through(held, self._end)
        if self._held_to_end is not None and self._held_to_end == len(held) and not tail_complete:
            self._held_to_end = None  # lines up to end_time may lie beyond what is held

    async def _page(self, **params: Any) -> tuple[list[LogEvent], str | None]:
        from runwatch.api.errors import ResponseShapeError
        from runwatch.api.models import LogEvent

        data = await self.client.get_run_recent_logs(
            self.organization_id, self.deployment_id, self.run_id, **params
        )
        raw = data.get("events") or []
        if not isinstance(raw, list):
            raise ResponseShapeError("recentlogs: 'events' is not a list")
        token = data.get("next_backward_token")
        events = [LogEvent.from_wire(item) for item in reversed(raw)]
        return events, token if isinstance(token, str) and token else None

    async def older(self) -> list[LogEvent]:
        """The page before the oldest line held (oldest first); [] at the start of the log."""
        if self.at_start:
            return []
        if self._token is not None:
            events, token = await self._page(next_backward_token=self._token)
            if not events:
                self.at_start = True
            elif token is None or token == self._token:
                # Paging on with it would bring this page back again and again.
                raise _shape_error("a page of events without a new backward token")
            self._token = token or self._token
            return events
        return await self._locate()

    async def _joined(self, events: list[LogEvent], token: str | None, cut: int) -> list[LogEvent]:
        self._token = token
        if cut == 0:
            # The held lines open this page: the lines before them are the next page.
            return await self.older() if token else []
        return events[:cut]

    async def _locate(self) -> list[LogEvent]:
        params: dict[str, Any] = {"end_time": self._end} if self._end else {}
        events, token = await self._page(**params)
        first = events, token
        if self._held_to_end is not None:
            # Count back from the newest line up to end_time: the last `held_to_end` of
            # them are held.
            skip = self._held_to_end
            for _ in range(MAX_SEARCH_PAGES):
                if not events:
                    self.at_start = True
                    return []
                if skip < len(events):
                    cut = len(events) - skip
                    if _joins([_shown(event) for event in events], cut, self._window):
                        return await self._joined(events, token, cut)
                    break  # the server's count differs (lines of the last second): search
                skip -= len(events)
                if token is None:
                    self.at_start = True
                    return []
                events, token = await self._page(next_backward_token=token)
            events, token = first
        for _ in range(MAX_SEARCH_PAGES):
            if not events:
                self.at_start = True
                return []
            found = _search_join([_shown(event) for event in events], self._window)
            if found is not None:
                return await self._joined(events, token, found)
            if token is None:
                self.at_start = True
                return []
            # Every event of this page is newer than the held line (same second): go back.
            events, token = await self._page(next_backward_token=token)
        raise _shape_error("the oldest line held is not in the log the server sends")


def _shape_error(text: str) -> Exception:
    from runwatch.api.errors import ResponseShapeError

    return ResponseShapeError(f"recentlogs: {text}")


def _shown(event: LogEvent) -> tuple[str, str]:
    # Compared on the same text the pane holds (made inert, a very long line cut).
    from runwatch.tui.format import inert
    from runwatch.tui.widgets.log_view import shown_message

    return inert(event.raw_timestamp), shown_message(event.message)


def _joins(shown: list[tuple[str, str]], cut: int, window: list[tuple[str, str]]) -> bool:
    """Do the page's lines from `cut` on read as the held lines do, as far as both go?"""
    if shown[cut] != window[0]:
        return False
    tail = shown[cut : cut + len(window)]
    return tail == window[: len(tail)]


def _search_join(shown: list[tuple[str, str]], window: list[tuple[str, str]]) -> int | None:
    # The first place the rest of the page reads as the held lines: where lines are alike, a
    # later one would join the page to a copy of what is held.
    for index in range(len(shown)):
        if _joins(shown, index, window):
            return index
    return None


def _count_through(held: Sequence[tuple[str, str]], end: datetime | None) -> int | None:
    """How many held lines, from the top, are at or before `end`."""
    from runwatch.api.models import parse_time

    if end is None:
        return None
    count = 0
    for raw_timestamp, _ in held:
        when = parse_time(raw_timestamp)
        if when is None:
            return None
        if when > end:
            break
        count += 1
    return count
