"""The log follower: tails a run's log through `recentlogs` and never loses or repeats a line.

The contract's tokens are positions in the run's log: the forward token points just after the
newest event we hold, the backward token just before the oldest. Servers differ in how they
say "no more logs this way" (`[]`, the same token, `null`, nothing), so a follower may hold no
usable token at all; it then goes on by time from the edges of what it delivered
(`log_edges`). Positions only move after a response has been received and its events have
been put where they will be returned, so an error at any point (a 503 in the middle of a
burst, a dropped connection, a cancelled task) leaves the follower where the last successful
page left it, and the next poll carries on from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from runwatch.api.client import Traffic, counting
from runwatch.api.models import LogEvent, Run, is_terminal
from runwatch.follow.log_backward import MAX_PAGE, BackwardPager
from runwatch.follow.log_edges import (
    AfterEdge,
    Edge,
    TokenAnswer,
    after_edge,
    classify_token,
    floor_second,
    joined_front,
    newest_edge,
    oldest_edge,
    reaches_before,
)
from runwatch.follow.log_instant import whole_instant
from runwatch.follow.log_loop import FollowLoop
from runwatch.follow.log_source import LogSource, Page

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["LogFollower"]


class LogFollower(FollowLoop):
    """Follows one run's log. Plain async state machine, no UI.

    Start position:
      - default: the newest page of `recentlogs` (what a log pane shows first);
      - `from_start=True`: everything from the first event (read oldest first via `logs`);
      - `tail=N`: the newest N events;
      - `since=datetime`: events at or after that time (read oldest first via `logs`).

    Then it follows: with the forward token while the server gives usable ones, else by time
    (see `log_edges`). Whatever token shape the server uses, each event is delivered once, in
    order; none of the shapes is an error.
    """

    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        run_id: str,
        *,
        from_start: bool = False,
        tail: int | None = None,
        since: datetime | None = None,
        max_pages_per_poll: int = 64,
    ) -> None:
        if tail is not None and tail < 0:
            raise ValueError("tail must be >= 0")
        self.source = LogSource(client, organization_id, deployment_id, run_id)
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.run_id = run_id
        self.from_start = from_start
        self.tail = tail
        self.since = since
        # Bounds one poll so a log that never stops growing still hands back batches;
        # `caught_up` tells the caller to poll again at once.
        self.max_pages_per_poll = max(1, max_pages_per_poll)

        self.done = False
        self.caught_up = False
        self.status: str | None = None
        self.run: Run | None = None
        self.delivered = 0

        # Following: a usable forward token, else by time from the newest edge delivered.
        self._forward: str | None = None
        self._newest: Edge | None = None
        # Reading oldest first through `logs` (from the start, from `since`, or to catch up
        # by time): its next_token, the start time, and whether its first page may hold
        # events already delivered.
        self._ascending: _Ascending | None = None
        self._largest_page = 0
        self._back = BackwardPager(self.source, None)
        self._started = False
        self._backfilling = False
        self._head: list[LogEvent] = []
        # How many events the newest page held: the start hands out that many.
        self._start_size = 0
        # Older pages collected while backfilling for `tail`, each oldest first, newest first.
        self._backfill: list[list[LogEvent]] = []
        # Events fetched but not yet returned (e.g. the pages before a failed request).
        self._pending: list[LogEvent] = []
        # Events the start position cut off; `older()` hands them out before paging back.
        self._older_leftover: list[LogEvent] = []
        self._terminal = False
        self._status_external = False

    @property
    def client(self) -> AsyncAPIClient:
        return self.source.client

    @client.setter
    def client(self, client: AsyncAPIClient) -> None:
        # The tokens and edges are positions in the run's log: they hold at a new address.
        self.source.client = client

    @property
    def traffic(self) -> Traffic:
        """Requests and bytes this follower's own calls have cost."""
        return self.source.traffic

    @property
    def at_start(self) -> bool:
        """Whether everything from the log's first event has been handed out."""
        return (
            self._started
            and not self._backfilling
            and not self._older_leftover
            and (self._back.at_start)
        )

    # -- status -------------------------------------------------------------------------

    def set_run_status(self, status: str) -> None:
        """The owner (a runs poller, a detail view) tells the follower the run's status."""
        self._status_external = True
        self._apply_status(status)

    def _apply_status(self, status: str) -> None:
        self.status = status
        self._terminal = is_terminal(status)

    @property
    def terminal(self) -> bool:
        return self._terminal

    @property
    def newest_time(self) -> datetime | None:
        """The time of the newest event delivered (the dashboard's quiet-run check)."""
        return self._newest.time if self._newest is not None else None

    async def refresh_status(self) -> Run:
        with counting(self.source.traffic):
            data = await self.client.get_run(self.organization_id, self.deployment_id, self.run_id)
        run = Run.from_wire(data)
        self.run = run
        self._apply_status(run.status)
        return run

    # -- the start ----------------------------------------------------------------------

    async def _start(self) -> None:
        if self.from_start or self.since is not None:
            # Oldest first through `logs`: a whole log of any size in bounded memory.
            self._ascending = _Ascending(start=self.since, since=self.since)
            self._back = BackwardPager(self.source, None, at_start=self.since is None)
            self._started = True
            return
        page = await self.source.recent()
        self._note_page_size(page)
        forward = classify_token(page.forward, None)
        backward = classify_token(page.backward, None)
        self._forward = page.forward if forward is TokenAnswer.USABLE else None
        head = page.events
        token = page.backward if backward is TokenAnswer.USABLE else None
        at_start = not head or backward is TokenAnswer.NO_MORE
        self._start_size = len(head)
        whole = None if at_start else await whole_instant(self.source, head)
        if whole is not None:
            # The page lay inside one instant, read whole to the log's end (`log_instant`).
            head, token, self._forward = whole, None, None
        self._back = BackwardPager(self.source, oldest_edge(head, None), token, at_start=at_start)
        self._head = head
        self._started = True
        self._backfilling = self.tail is not None and not self._backfill_complete()
        if not self._backfilling:
            self._pending.extend(self._assemble_start())

    def resume_after(
        self, edge: Edge | None, *, read_logs: bool, since: datetime | None = None
    ) -> None:
        """Start a fresh follower just after `edge`, the newest edge of what a whole-log read
        (`log_slices`) handed out, instead of at its own start position.

        `read_logs`: read on through `logs` from the second of `edge` (or from `since`),
        dropping what was handed out, before asking `recentlogs`; else ask `recentlogs` by
        time straight away (the read reached the end of what `logs` had).
        """
        self._started = True
        self._newest = edge
        self._back = BackwardPager(self.source, None, at_start=edge is None and since is None)
        if read_logs:
            start = floor_second(edge.time) if edge is not None else since
            self._ascending = _Ascending(start=start, since=since, overlaps=edge is not None)

    def _backfill_complete(self) -> bool:
        if self._back.at_start or self.tail is None:
            return True
        return len(self._head) + sum(map(len, self._backfill)) >= self.tail

    def _assemble_start(self) -> list[LogEvent]:
        events: list[LogEvent] = []
        for page in reversed(self._backfill):
            events.extend(page)
        events.extend(self._head)
        # Counted over all that was read (see `log_instant`), not only what is handed out.
        self._newest = newest_edge(events, None)
        # The newest page's worth, or `tail`; `older()` hands out what was read before it.
        cut = max(0, len(events) - (self._start_size if self.tail is None else self.tail))
        self._backfill = []
        self._head = []
        self._older_leftover = events[:cut]
        return events[cut:]

    # -- following ----------------------------------------------------------------------

    async def poll(self) -> list[LogEvent]:
        """New events, oldest first. The first call sets the start position.

        Later calls page forward back-to-back while there is more, up to `max_pages_per_poll`
        requests; `caught_up` says whether the end was reached. The run is `done` once a poll
        that started with the run known to be terminal reached the end.
        """
        terminal_before = self._terminal
        self.caught_up = False
        if not self._started:
            await self._start()
        while self._backfilling:
            page = await self._back.older()
            self._backfill.append(page)
            if not page or self._backfill_complete():
                self._backfilling = False
                self._pending.extend(self._assemble_start())
        for _ in range(self.max_pages_per_poll):
            if self._ascending is not None:
                await self._ascending_step(self._ascending)
            elif self._forward is not None:
                await self._token_step(self._forward)
            else:
                await self._time_step()
            if self.caught_up:
                break
        batch = self._pending
        self._pending = []
        self.delivered += len(batch)
        if self.caught_up and terminal_before:
            self.done = True
        return batch

    def _deliver(self, events: list[LogEvent]) -> None:
        if not events:
            return
        front, newest = self._back.front, self._newest
        if front is None and not self._pending and not self.delivered:
            # The first events of a log read from its start or from `since`.
            self._back.note_front(events)
        elif front is not None and newest is not None and front.time == newest.time:
            # All that is held lies at one instant, which these events may continue: the
            # pager drops the held events at its front's time by count, so they count too.
            self._back.front = joined_front(front, events)
        self._newest = newest_edge(events, self._newest)
        self._pending.extend(events)

    def _note_page_size(self, page: Page) -> None:
        self._largest_page = max(self._largest_page, len(page.events))

    def _reaches_back(self, page: Page, sent: str | None, newest: Edge | None) -> bool:
        """Whether a page of a read by time, with the pages after it, holds everything since
        `newest`: it reaches before it, or the server says or shows there is nothing before
        it in the window (no events, `[]`, or fewer events than a full page)."""
        not_full = len(page.events) < self._largest_page and page.size < _SMALL_PAGE_BYTES
        self._note_page_size(page)
        return (
            not page.events
            or reaches_before(page.events, newest)
            or classify_token(page.backward, sent) is TokenAnswer.NO_MORE
            or not_full
        )

    async def _token_step(self, sent: str) -> None:
        page = await self.source.recent(forward=sent)
        answer = classify_token(page.forward, sent)
        if answer is TokenAnswer.SAME and page.events:
            # Events with the token that was sent: asking with it again would give them
            # again, and nothing tells them apart from events already delivered (a server
            # that answers one page to everything). Going by time delivers exactly the new.
            self._forward = None
            return
        self._deliver(page.events)
        if not page.events:
            self.caught_up = True
            # The token sent back on an empty page still points at the end (CloudWatch);
            # `[]` or nothing means following goes on by time.
            if answer is not TokenAnswer.SAME:
                self._forward = page.forward if answer is TokenAnswer.USABLE else None
            return
        self._forward = page.forward if answer is TokenAnswer.USABLE else None
        # A page shorter than a full one held everything there was: hand it out now rather
        # than after one more request that would come back empty (the follow lag of a link).
        short = len(page.events) < self._largest_page and page.size < _SMALL_PAGE_BYTES
        self._note_page_size(page)
        if answer is TokenAnswer.NO_MORE or short:
            self.caught_up = True

    async def _time_step(self) -> None:
        """Everything after the newest edge, asked for by time: one request when the new
        events fit in a page, more only for a burst."""
        newest = self._newest
        start = floor_second(newest.time) if newest is not None else None
        page = await self.source.recent(start=start)
        pages = [page.events]
        complete = self._reaches_back(page, None, newest)
        backward, sent = page.backward, None
        while not complete and classify_token(backward, sent) is TokenAnswer.USABLE:
            if len(pages) >= self.max_pages_per_poll:
                break
            sent = backward
            older = await self.source.recent(backward=sent, start=start)
            pages.insert(0, older.events)
            backward = older.backward
            complete = self._reaches_back(older, sent, newest)
        if not complete:
            # Nothing says the pages reach back to what was delivered: read from that
            # second oldest first, which cannot leave a hole.
            self._ascending = _Ascending(start=start, overlaps=True, catch_up=True)
            return
        self._deliver(after_edge([e for events in pages for e in events], newest))
        self.caught_up = True
        forward = classify_token(page.forward, None)
        if forward is TokenAnswer.USABLE and isinstance(page.forward, str):
            self._forward = page.forward

    async def _ascending_step(self, read: _Ascending) -> None:
        page = await self.source.logs(token=read.token, start=read.start)
        self._note_page_size(page)
        events = page.events
        if read.since is not None:
            # The SDK's whole seconds: the first page may start before `since`.
            since = read.since
            events = [e for e in events if e.timestamp is None or e.timestamp >= since]
        if read.overlaps:
            if read.skip is None:
                read.skip = AfterEdge(self._newest)
            events = read.skip(events)
        self._deliver(events)
        answer = classify_token(page.forward, read.token)
        token = page.forward
        if answer is TokenAnswer.USABLE and page.events and token not in read.used:
            # A token given before would page in a circle for ever.
            read.used.add(token)
            read.token = token
            return
        # The end of what `logs` had. A catch-up read is then caught up; after the first read
        # of a log the next step asks `recentlogs` by time whether there is more (a server
        # whose `logs` ended early, or a log that grew meanwhile).
        self._ascending = None
        self.caught_up = read.catch_up
        if self._back.front is None:
            self._back.at_start = True

    async def older(self) -> list[LogEvent]:
        """One page before the oldest event handed out, oldest first ([] once `at_start`)."""
        if self._older_leftover:
            # A page at a time, the newest first, as the pager hands them out.
            page = self._older_leftover[-MAX_PAGE:]
            del self._older_leftover[-MAX_PAGE:]
            return page
        if not self._started or self._backfilling:
            return []
        return await self._back.older()


# A page this small cannot have been cut short by a server's size limit (1 MiB here and on
# CloudWatch): with fewer events than the largest page seen, it holds all there was.
_SMALL_PAGE_BYTES = 256 * 1024


@dataclass
class _Ascending:
    """A read through `logs`, oldest first."""

    start: datetime | None = None
    token: str | None = None
    since: datetime | None = None
    overlaps: bool = False
    catch_up: bool = False
    skip: AfterEdge | None = None
    used: set[str] = field(default_factory=set)
