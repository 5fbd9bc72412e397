"""The requests a reader of one run's log makes: parsed, oldest first, and counted.

`LogSource` wraps the two log endpoints (`recentlogs`, newest first, with forward and backward
tokens; `logs`, oldest first, with `next_token`) and hands back pages oldest first with their
raw tokens, which `log_edges.classify_token` reads. It counts the requests and bytes of its own
calls (`traffic`), so a follower can say what following a log costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runwatch.api.client import Traffic, counting
from runwatch.api.errors import ResponseShapeError
from runwatch.api.models import LogEvent

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["LogSource", "Page", "events_oldest_first", "raw_events"]


@dataclass
class Page:
    """One answer: its events oldest first and the raw tokens."""

    events: list[LogEvent]
    forward: Any = None  # recentlogs' next_forward_token, or logs' next_token
    backward: Any = None

    @property
    def size(self) -> int:
        """The text size of the events: asked only by a read by time, so not counted on the
        follower's hot path for every page."""
        return sum(len(event.message) for event in self.events)


@dataclass
class LogSource:
    client: AsyncAPIClient
    organization_id: str
    deployment_id: str
    run_id: str
    traffic: Traffic = field(default_factory=Traffic)

    async def recent(
        self,
        *,
        forward: str | None = None,
        backward: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Page:
        with counting(self.traffic):
            data = await self.client.get_run_recent_logs(
                self.organization_id,
                self.deployment_id,
                self.run_id,
                next_forward_token=forward,
                next_backward_token=backward,
                start_time=start,
                end_time=end,
            )
        # The wire order is newest first; everything here works oldest first.
        events = events_oldest_first(raw_events(data, "recentlogs"), newest_first=True)
        return Page(events, data.get("next_forward_token"), data.get("next_backward_token"))

    async def logs(
        self,
        *,
        token: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Page:
        with counting(self.traffic):
            data = await self.client.get_run_logs(
                self.organization_id,
                self.deployment_id,
                self.run_id,
                next_token=token,
                start_time=start,
                end_time=end,
            )
        events = events_oldest_first(raw_events(data, "logs"), newest_first=False)
        return Page(events, data.get("next_token"))


def raw_events(data: Any, endpoint: str) -> list[Any]:
    raw = data.get("events") if isinstance(data, dict) else None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ResponseShapeError(f"{endpoint}: 'events' is not a list")
    return raw


def events_oldest_first(raw_events: list[Any], *, newest_first: bool) -> list[LogEvent]:
    """`LogEvent.from_wire` for a whole page, with a fast path for the usual shape.

    This loop runs once per log line, so it is a follower's hot spot: for an event that is a
    dict with a string message and a `...Z` timestamp it skips from_wire's general checks,
    and builds the tuple without the named tuple's keyword-taking `__new__`.
    The result is the same LogEvent either way.
    """
    events: list[LogEvent] = []
    append = events.append
    fromisoformat = datetime.fromisoformat
    new = tuple.__new__
    for item in reversed(raw_events) if newest_first else raw_events:
        if type(item) is dict:
            message = item.get("message")
            stamp = item.get("timestamp")
            if type(message) is str and type(stamp) is str and stamp[-1:] == "Z":
                try:
                    when = fromisoformat(stamp)
                except ValueError:
                    pass
                else:
                    append(new(LogEvent, (message, when, stamp)))
                    continue
        append(LogEvent.from_wire(item))
    return events
