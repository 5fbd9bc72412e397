"""Where a reader stands in a run's log when the server's tokens cannot take it further.

The contract lets `recentlogs` answer "no more logs this way" with `[]`, the token it was
sent, `null`, `""` or no key at all, on any page, the first included. A follower that holds
no usable token goes on by time: it asks from the second of the last event it delivered
(`start_time`, whole seconds as the SDK sends it) and drops what it already has. What it
already has is known by counting, not by matching text: an `Edge` is the time of the event at
one end of what was delivered and how many delivered events share exactly that time. Lines
written in one burst often share their time and even their text (blank lines, progress dots),
so a reader that matched text would lose or repeat them.

Everything here is pure: lists of `LogEvent` in, lists out, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from operator import attrgetter
from typing import Any

from runwatch.api.models import LogEvent

__all__ = [
    "AfterEdge",
    "Edge",
    "TokenAnswer",
    "after_edge",
    "before_edge",
    "classify_token",
    "floor_second",
    "joined_front",
    "neighbour_times",
    "newest_edge",
    "oldest_edge",
    "reaches_before",
]


class TokenAnswer(Enum):
    USABLE = "usable"  # a fresh token: ask with it for the next page that way
    NO_MORE = "no more"  # `[]`, the seed's documented "no more logs this way"
    SAME = "same"  # the token that was sent (CloudWatch's "nothing new yet")
    UNKNOWN = "unknown"  # null, "", no key, or anything else: says nothing either way


def classify_token(value: Any, sent: str | None) -> TokenAnswer:
    if isinstance(value, str) and value:
        return TokenAnswer.SAME if value == sent else TokenAnswer.USABLE
    if isinstance(value, list) and not value:
        return TokenAnswer.NO_MORE
    return TokenAnswer.UNKNOWN


@dataclass(frozen=True)
class Edge:
    """One end of what has been delivered: the time of the event there, and how many of the
    delivered events, counted from that end, have exactly that time."""

    time: datetime
    count: int


def floor_second(when: datetime) -> datetime:
    return when.replace(microsecond=0)


def next_second(when: datetime) -> datetime:
    return floor_second(when) + timedelta(seconds=1)


_timestamp = attrgetter("timestamp")


def _times(events: Sequence[LogEvent]) -> list[datetime | None]:
    read = list(map(_timestamp, events))
    # Every event's time readable, as on nearly every page: nothing to fill in.
    return read if None not in read else neighbour_times(read)


def neighbour_times(read: Sequence[datetime | None]) -> list[datetime | None]:
    """Each event's time from the times read (oldest first); an event whose time cannot be
    read takes its neighbour's (the one before it, or for the first ones the first readable
    one), as it was logged among them."""
    times: list[datetime | None] = []
    last: datetime | None = None
    for when in read:
        if when is not None:
            last = when
        times.append(last)
    first = next((t for t in times if t is not None), None)
    return [first if t is None else t for t in times]


def newest_edge(events: Sequence[LogEvent], previous: Edge | None) -> Edge | None:
    """The newest edge once `events` (oldest first) are delivered after `previous`."""
    times = _times(events)
    if not times or times[-1] is None:
        return previous
    last = times[-1]
    count = 0
    for when in reversed(times):
        if when != last:
            break
        count += 1
    else:
        if previous is not None and previous.time == last:
            count += previous.count
    return Edge(last, count)


def oldest_edge(events: Sequence[LogEvent], previous: Edge | None) -> Edge | None:
    """The oldest edge once `events` (oldest first) are put in front of `previous`."""
    times = _times(events)
    if not times or times[0] is None:
        return previous
    first = times[0]
    count = 0
    for when in times:
        if when != first:
            break
        count += 1
    else:
        if previous is not None and previous.time == first:
            count += previous.count
    return Edge(first, count)


def joined_front(front: Edge, events: Sequence[LogEvent]) -> Edge:
    """The oldest edge of what is held, all of it at `front.time`, once `events` (oldest
    first) are delivered after it: those at that time join its count."""
    lead = oldest_edge(events, None)
    if lead is None or lead.time != front.time:
        return front
    return Edge(front.time, front.count + lead.count)


class AfterEdge:
    """Drops, from pages read oldest first, the events already delivered up to `edge`.

    The first page must start where the log was asked from (the start of the edge's second,
    or earlier), so that it holds every event at `edge.time` that lies before the others:
    the delivered ones at that time are the first `edge.count` of them. Later pages of the
    same read continue the count, as the edge may lie pages ahead.
    """

    def __init__(self, edge: Edge | None) -> None:
        self.edge = edge
        self.skip = edge.count if edge is not None else 0
        self.passed = edge is None

    def __call__(self, events: Sequence[LogEvent]) -> list[LogEvent]:
        if self.passed or self.edge is None:
            return list(events)
        edge = self.edge
        times = _times(events)
        index, end = 0, len(events)
        while index < end and (when := times[index]) is not None and when < edge.time:
            index += 1
        while index < end and self.skip and times[index] == edge.time:
            index += 1
            self.skip -= 1
        if index < end:
            self.passed = True
        return list(events[index:])


def after_edge(events: Sequence[LogEvent], edge: Edge | None) -> list[LogEvent]:
    """`events` minus those already delivered up to `edge` (see `AfterEdge`)."""
    return AfterEdge(edge)(events)


def before_edge(events: Sequence[LogEvent], edge: Edge | None) -> list[LogEvent]:
    """`events` minus those held from `edge` on: the mirror of `after_edge`.

    `events` must be a stretch of the log, oldest first, that runs on past every held event
    at `edge.time`; the held ones at that time are the last `edge.count` of them.
    """
    if edge is None:
        return list(events)
    times = _times(events)
    end = len(events)
    while end > 0 and (when := times[end - 1]) is not None and when > edge.time:
        end -= 1
    skip = edge.count
    while end > 0 and skip and times[end - 1] == edge.time:
        end -= 1
        skip -= 1
    return list(events[:end])


def reaches_before(events: Sequence[LogEvent], edge: Edge | None) -> bool:
    """Whether `events` (oldest first) begin before `edge`, so that they hold all of its time."""
    if edge is None or not events:
        return False
    first = _times(events)[0]
    return first is not None and first < edge.time
