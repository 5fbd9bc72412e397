"""The requests a reader of one run's log makes: parsed, oldest first, and counted.

`LogSource` wraps the two log endpoints (`recentlogs`, newest first, with forward and backward
tokens; `logs`, oldest first, with `next_token`) and hands back pages oldest first with their
raw tokens, which `log_edges.classify_token` reads. It counts the requests and bytes of its own
calls (`traffic`), so a follower can say what following a log costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter
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
    """`LogEvent.from_wire` for a whole page, with fast paths for the usual shape.

    This runs once per log line, so it is a follower's hot spot. A page whose events are all
    the usual shape (objects with a string message and an ISO timestamp in UTC) is read a
    column at a time, the work done by C loops (map, zip); any other page event by event,
    where each usual event still skips from_wire's general checks. The result is the same
    LogEvents either way.
    """
    items = raw_events[::-1] if newest_first else raw_events
    if not items:
        return []
    events = _usual_page(items)
    return events if events is not None else _event_by_event(items)


_STR = {str}
_IN_UTC = {UTC}
_zone = attrgetter("tzinfo")


def _usual_page(items: list[Any]) -> list[LogEvent] | None:
    """The page's events when every one is the usual shape, else None."""
    try:
        stamps = [item["timestamp"] for item in items]
        times = list(map(datetime.fromisoformat, stamps))
        messages = [item["message"] for item in items]
    except (TypeError, KeyError, ValueError):
        # Not an object, a field missing, not a string, not a time `fromisoformat` reads.
        return None
    # parse_time's result exactly: an ISO time read in UTC (`Z` or `+00:00`) stays as read.
    if set(map(type, messages)) != _STR or set(map(_zone, times)) != _IN_UTC:
        return None
    return list(map(tuple.__new__, repeat(LogEvent), zip(messages, times, stamps, strict=True)))


def _event_by_event(items: list[Any]) -> list[LogEvent]:
    events: list[LogEvent] = []
    append = events.append
    fromisoformat = datetime.fromisoformat
    new = tuple.__new__
    for item in items:
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
