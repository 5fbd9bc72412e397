"""Fetching again the lines the log pane dropped to stay bounded.

The follower's backward token points before the first page it ever loaded; once the pane
has dropped lines from its top while following, that token is on the far side of a gap. This
pager restarts backward paging from the oldest line the pane still holds: `recentlogs` with
`end_time` at that line's second (the API's time resolution) gives the page ending there, the
lines of that second already held are cut off by matching the held line, and from then on the
backward token pages on exactly, as the contract promises.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.models import LogEvent

# Enough to get past every line logged within one second at flood rates.
MAX_SEARCH_PAGES = 200


class DroppedLinesPager:
    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        run_id: str,
        oldest_held: tuple[str, str],
    ) -> None:
        self.client = client
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.run_id = run_id
        self.oldest_held = oldest_held
        self.at_start = False
        self._token: str | None = None

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

    async def _locate(self) -> list[LogEvent]:
        from runwatch.api.models import parse_time

        raw_timestamp, message = self.oldest_held
        when = parse_time(raw_timestamp)
        # One second later: servers disagree on whether end_time is inclusive, and the
        # overlap is cut off by the search below anyway.
        params: dict[str, Any] = {"end_time": when + timedelta(seconds=1)} if when else {}
        events, token = await self._page(**params)
        for _ in range(MAX_SEARCH_PAGES):
            if not events:
                self.at_start = True
                return []
            cut = _last_index(events, raw_timestamp, message)
            if cut is not None:
                self._token = token
                if cut == 0:
                    # The held line opens this page: the lines before it are the next page.
                    return await self.older() if token else []
                return events[:cut]
            if token is None:
                self.at_start = True
                return []
            # Every event of this page is newer than the held line (same second): go back.
            events, token = await self._page(next_backward_token=token)
        raise _shape_error("the oldest line held is not in the log the server sends")


def _shape_error(text: str) -> Exception:
    from runwatch.api.errors import ResponseShapeError

    return ResponseShapeError(f"recentlogs: {text}")


def _last_index(events: list[LogEvent], raw_timestamp: str, message: str) -> int | None:
    # Compared on the same text the pane holds (made inert, a very long line cut).
    from runwatch.tui.format import inert
    from runwatch.tui.widgets.log_view import shown_message

    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if inert(event.raw_timestamp) == raw_timestamp and shown_message(event.message) == message:
            return index
    return None
