"""A whole-log read made fast over a real link: time slices fetched in parallel.

Paging `logs` one request after another costs a round trip a page: over a 20 ms link, 200
pages are 4 s of waiting. `SliceReader` splits the log's time range into slices
(`start_time`/`end_time` on `logs`), reads up to `workers` of them at once (the client's pool
opens a connection for each request in flight), pages each with `next_token`, sending the
next request as soon as the token is known and before the page's events are looked at, and
hands the slices out in order, a slice's pages as they come. A slice ahead of the one being
handed out holds at most `PAGES_AHEAD` pages, so memory stays bounded whatever the log's size.

Events are handed out as the server sent them (wire dicts): a caller that prints messages
never pays for `LogEvent`s and parsed timestamps. Only a page that straddles a slice's edge
has every timestamp read; any other page has its first and last read.

Edges: the seed includes both ends of a time range, and servers differ in what an end time
covers (the engine reads one without a fraction as the whole second). So a slice asks up to
the next slice's start and keeps only its own events, at or after its start and before the
next start: each event belongs to exactly one slice by its own time, whatever the server
includes at the ends. Many events sharing the time of an edge all belong to the later slice.

A server that ignores `start_time` (a slice's first page holds events from before its start)
or refuses a time with a fraction (a 400) is noticed on the first page of a slice: everything
not yet handed out is dropped and `fell_back` is set; the caller then reads on sequentially
from `newest`, the edge of what was handed out (see `log_read`), so nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from runwatch.api.client import Traffic, counting
from runwatch.api.errors import HttpError
from runwatch.api.wire_values import parse_time
from runwatch.follow.log_edges import Edge, TokenAnswer, classify_token, neighbour_times
from runwatch.follow.log_source import raw_events

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["PAGES_AHEAD", "WORKERS", "SliceReader", "event_time", "wire_time"]

# Slices read at once. Beyond ~8 a 20-50 ms link is no longer what a page waits for: the
# server's and the client's own work per page are.
WORKERS = 8
# More slices than workers, so that a slice denser than the others holds up less.
SLICES_PER_WORKER = 4
# Pages a slice may hold before it is handed out (a slice ahead waits for its turn).
PAGES_AHEAD = 4
# Slices of a whole second or more get whole-second edges: a server that stores or compares
# whole seconds then puts every event on the same side of an edge as we do.
WHOLE_SECONDS = timedelta(seconds=1)


def event_time(item: Any) -> datetime | None:
    """The time of a wire event, as `LogEvent.from_wire` reads it (None: none readable)."""
    if type(item) is not dict:
        return None
    stamp = item.get("timestamp")
    if type(stamp) is str and stamp.endswith("Z"):
        try:
            return datetime.fromisoformat(stamp)
        except ValueError:
            return None
    return parse_time(stamp if stamp is None or isinstance(stamp, str) else str(stamp))


def page_times(items: list[Any]) -> list[datetime | None]:
    """Each wire event's time, an unreadable one its neighbour's (`log_edges`)."""
    return neighbour_times([event_time(item) for item in items])


def wire_time(when: datetime) -> str:
    """A query time with its microseconds: the SDK's format plus a fraction, which the
    engine (and the contract's parsers) read as that exact instant."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class _Slice:
    start: datetime | None  # inclusive; None: from the log's start
    end: datetime | None  # exclusive; None: to the log's end
    token: str | None = None  # where the first request starts (slice 0 goes on from the probe)
    queue: asyncio.Queue[Any] = field(default_factory=lambda: asyncio.Queue(PAGES_AHEAD))
    task: asyncio.Task[None] | None = None


class _End:
    """Put on a slice's queue after its last page."""


class _FellBack(Exception):
    """The server does not read a slice's times as asked."""


_END = _End()


class SliceReader:
    """One whole-log read (or `since`..`until`), oldest first, each event once."""

    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        run_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        workers: int = WORKERS,
        traffic: Traffic | None = None,
    ) -> None:
        self.client = client
        self.ids = (organization_id, deployment_id, run_id)
        self.since = since
        self.until = until
        self.workers = max(1, workers)
        self.traffic = traffic if traffic is not None else Traffic()
        # The newest edge of what was handed out: where a sequential read goes on from.
        self.newest: Edge | None = None
        self.fell_back = False
        self.slices = 0

    async def _logs(self, token: str | None, start: datetime | None, end: datetime | None) -> Any:
        with counting(self.traffic):
            return await self.client.get_run_logs(
                *self.ids,
                next_token=token,
                start_time=wire_time(start) if start is not None else None,
                end_time=wire_time(end) if end is not None else None,
            )

    async def _newest_page(self) -> list[datetime | None]:
        """The times of the log's newest page (within since..until), from `recentlogs`,
        oldest first."""
        with counting(self.traffic):
            data = await self.client.get_run_recent_logs(
                *self.ids,
                start_time=wire_time(self.since) if self.since is not None else None,
                end_time=wire_time(self.until) if self.until is not None else None,
            )
        return page_times(raw_events(data, "recentlogs")[::-1])

    async def read(self) -> AsyncIterator[list[Any]]:
        """Batches of wire events, oldest first. Ends at the end of the log as it was read, or
        early with `fell_back` set (see the module's doc)."""
        try:
            first, newest = await asyncio.gather(
                self._logs(None, self.since, self.until), self._newest_page()
            )
        except HttpError as error:
            if error.status_code != 400 or (self.since is None and self.until is None):
                raise
            # Times with a fraction refused: the caller reads on sequentially.
            self.fell_back = True
            return
        items = raw_events(first, "logs")
        token = first.get("next_token") if isinstance(first, dict) else None
        more = classify_token(token, None) is TokenAnswer.USABLE and bool(items)
        head = _Slice(self.since, self.until)
        kept, past_end, _ = _clip(items, head)
        if kept:
            self._note(kept)
            yield kept
        if not more or past_end:
            return
        slices = self._plan(items, newest)
        slices[0].token = token
        self.slices = len(slices)
        waiting = deque(slices)
        running: deque[_Slice] = deque()
        try:
            while waiting or running:
                while waiting and len(running) < self.workers:
                    piece = waiting.popleft()
                    piece.task = asyncio.create_task(self._fetch(piece))
                    running.append(piece)
                item = await running[0].queue.get()
                if item is _END:
                    running.popleft()
                    continue
                if isinstance(item, _FellBack):
                    self.fell_back = True
                    return
                if isinstance(item, BaseException):
                    raise item
                self._note(item)
                yield item
        finally:
            await _cancel(running)

    def _plan(self, items: list[Any], newest_page: list[datetime | None]) -> list[_Slice]:
        """The slices after the first page: even in time between its last event and the newest
        event, as many as the log's density says there are pages left (two a slice)."""
        first = page_times(items)
        last = first[-1]
        known = [t for t in newest_page if t is not None]
        newest = max(known) if known else None
        if self.until is not None and newest is not None:
            newest = min(newest, self.until)
        if last is None or newest is None or newest <= last:
            return [_Slice(self.since, self.until)]
        span = newest - last
        # The time a page of events covers, at the denser end of the log (`_page_span`
        # leaves out a tenth at each end of a page: a run's start-up and end lines).
        per_page = [_page_span(times) for times in (first, newest_page)]
        page_span = min((p for p in per_page if p is not None), default=None)
        # Density unknown: a slice a worker.
        pages = span / page_span if page_span else 2 * self.workers
        count = int(min(max(pages / 2, 1), self.workers * SLICES_PER_WORKER))
        width = span / count
        edges: list[datetime] = []
        for index in range(1, count):
            edge = last + width * index
            if width >= WHOLE_SECONDS:
                edge = edge.replace(microsecond=0)
            if edge > last and (not edges or edge > edges[-1]):
                edges.append(edge)
        starts: list[datetime | None] = [self.since, *edges]
        ends: list[datetime | None] = [*edges, self.until]
        return [_Slice(start, end) for start, end in zip(starts, ends, strict=True)]

    async def _fetch(self, piece: _Slice) -> None:
        """Pages one slice onto its queue; errors go on the queue too, in order."""
        token = piece.token
        fresh = token is None and piece.start is not None
        used: set[str] = set()
        pending: asyncio.Task[Any] | None = asyncio.create_task(
            self._logs(token, piece.start, piece.end)
        )
        try:
            while pending is not None:
                try:
                    data = await pending
                except HttpError as error:
                    # A server that refuses our times (a fraction, a token with an end time).
                    if error.status_code == 400:
                        raise _FellBack from None
                    raise
                items = raw_events(data, "logs")
                sent, token = token, data.get("next_token")
                pending = None
                if (
                    items
                    and classify_token(token, sent) is TokenAnswer.USABLE
                    and token not in used
                ):
                    used.add(token)
                    pending = asyncio.create_task(self._logs(token, piece.start, piece.end))
                    # Let the request go out before this page's events are looked at.
                    await asyncio.sleep(0)
                kept, past_end, before_start = _clip(items, piece)
                if before_start and fresh:
                    raise _FellBack
                fresh = False
                if kept:
                    await piece.queue.put(kept)
                if past_end and pending is not None:
                    pending.cancel()
                    pending = None
            await piece.queue.put(_END)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # handed to the reader, in its turn
            await piece.queue.put(error)
        finally:
            if pending is not None:
                pending.cancel()
                # (asyncio.wait: this task's own cancellation is not swallowed.)
                await asyncio.wait([pending])
                if not pending.cancelled():
                    pending.exception()

    def _note(self, batch: list[Any]) -> None:
        """Moves `newest` past `batch`: the time of its newest event and how many share it.

        Runs once a batch, so it compares raw timestamp strings (a burst stamped with one time
        is hundreds of equal strings) and parses only where they differ."""
        index = len(batch) - 1
        while index >= 0 and (last := event_time(batch[index])) is None:
            index -= 1
        if index < 0:
            return
        last_raw = batch[index].get("timestamp")
        # The oldest index from which every event is at `last` (unreadable ones take the time
        # of the event before them, as in log_edges).
        boundary = index
        for older in range(index - 1, -1, -1):
            item = batch[older]
            if type(item) is dict and item.get("timestamp") == last_raw:
                boundary = older
                continue
            when = event_time(item)
            if when is None:
                continue
            if when != last:
                break
            boundary = older
        else:
            boundary = 0
            previous = self.newest
            if previous is not None and previous.time == last:
                self.newest = Edge(last, previous.count + len(batch))
                return
        self.newest = Edge(last, len(batch) - boundary)


def _page_span(times: list[datetime | None]) -> timedelta | None:
    """The time a full page of events like these covers; None when it cannot be told (no
    times, or all the same: a server that stamps a whole burst with one time)."""
    count = len(times)
    # A tenth off each end: a run's first and last lines (start-up, the end) are outliers.
    skip = count // 10
    if count - 2 * skip < 2:
        return None
    oldest, newest = times[skip], times[count - 1 - skip]
    if oldest is None or newest is None or newest <= oldest:
        return None
    return (newest - oldest) * count / (count - 2 * skip - 1)


def _clip(items: list[Any], piece: _Slice) -> tuple[list[Any], bool, bool]:
    """(the events of `items` that belong to `piece`, whether some lie past its end, whether
    some lie before its start). Reads two timestamps unless the page straddles an edge."""
    if not items:
        return items, False, False
    start, end = piece.start, piece.end
    if start is None and end is None:
        return items, False, False
    first, last = event_time(items[0]), event_time(items[-1])
    if (
        first is not None
        and last is not None
        and (start is None or first >= start)
        and (end is None or last < end)
    ):
        return items, False, False
    times = page_times(items)
    count = len(items)
    low = 0
    if start is not None:
        while low < count and (when := times[low]) is not None and when < start:
            low += 1
    high = low
    if end is not None:
        while high < count and ((when := times[high]) is None or when < end):
            high += 1
    else:
        high = count
    return items[low:high], high < count, low > 0


async def _cancel(running: deque[_Slice]) -> None:
    tasks = [piece.task for piece in running if piece.task is not None]
    for task in tasks:
        task.cancel()
    if tasks:
        # asyncio.wait, not `await task` under suppress(BaseException): a Ctrl-C cancelling
        # the reader while it cleans up must reach it, not be swallowed here.
        await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled():
                task.exception()  # retrieved: the read is over, its errors with it
