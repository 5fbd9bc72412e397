"""The log follower: tails a run's log through `recentlogs` and never loses or repeats a line.

The contract's tokens are positions in the run's log: the forward token points just after the
newest event we hold, the backward token just before the oldest. Both only move after a
response has been received and its events have been put where they will be returned, so an
error at any point (a 503 in the middle of a burst, a dropped connection, a cancelled task)
leaves the follower where the last successful page left it, and the next poll carries on from
there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runwatch.api.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    HttpError,
    NotFound,
    ResponseShapeError,
    Unauthorized,
)
from runwatch.api.models import LogEvent, Run, is_terminal
from runwatch.follow.schedule import PollSchedule, refused_connection

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["FATAL_ERRORS", "LogFollower", "is_fatal"]

# Errors that retrying cannot fix: the follower re-raises them instead of backing off.
# BadRequest is here because the only 400 recentlogs gives is a token the server rejects,
# and asking again with the same token would fail forever.
FATAL_ERRORS: tuple[type[HttpError], ...] = (Unauthorized, Forbidden, NotFound, BadRequest)

ErrorHook = Callable[[ApiError, float], None]


def is_fatal(exc: ApiError) -> bool:
    return isinstance(exc, FATAL_ERRORS)


def _retry_after(exc: ApiError) -> float | None:
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


class LogFollower:
    """Follows one run's log. Plain async state machine, no UI.

    Start position:
      - default: the newest page of `recentlogs` (what a log pane shows first);
      - `from_start=True`: everything from the first event;
      - `tail=N`: the newest N events;
      - `since=datetime`: events at or after that time.
    The older pages needed for the last three are fetched with the backward token, so the
    start joins the forward tail exactly, with no overlap to guess.
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
        self.client = client
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.run_id = run_id
        self.from_start = from_start
        self.tail = tail
        self.since = since
        # Bounds one poll so a log that never stops growing still hands back batches;
        # `caught_up` tells the caller to poll again at once.
        self.max_pages_per_poll = max(1, max_pages_per_poll)

        self.at_start = False
        self.done = False
        self.caught_up = False
        self.status: str | None = None
        self.run: Run | None = None
        self.delivered = 0

        self._forward: str | None = None
        self._backward: str | None = None
        self._started = False
        self._backfilling = False
        self._head: list[LogEvent] = []
        # Older pages collected while backfilling, each oldest first, newest page first.
        self._backfill: list[list[LogEvent]] = []
        # Events fetched but not yet returned (e.g. the pages before a failed request).
        self._pending: list[LogEvent] = []
        # Events the start position cut off; `older()` hands them out before paging back.
        self._older_leftover: list[LogEvent] = []
        self._terminal = False
        self._status_external = False

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

    async def refresh_status(self) -> Run:
        data = await self.client.get_run(self.organization_id, self.deployment_id, self.run_id)
        run = Run.from_wire(data)
        self.run = run
        self._apply_status(run.status)
        return run

    # -- paging -------------------------------------------------------------------------

    async def _recent(
        self, *, forward: str | None = None, backward: str | None = None
    ) -> tuple[list[LogEvent], str | None, str | None]:
        data = await self.client.get_run_recent_logs(
            self.organization_id,
            self.deployment_id,
            self.run_id,
            next_forward_token=forward,
            next_backward_token=backward,
        )
        raw_events = data.get("events")
        if raw_events is None:
            raw_events = []
        if not isinstance(raw_events, list):
            raise ResponseShapeError("recentlogs: 'events' is not a list")
        # The wire order is newest first; everything here works oldest first.
        events = _events_oldest_first(raw_events)
        return events, _token(data, "next_forward_token"), _token(data, "next_backward_token")

    def _wants_backfill(self) -> bool:
        return self.from_start or self.tail is not None or self.since is not None

    def _backfill_complete(self) -> bool:
        if self.at_start:
            return True
        if self.from_start:
            return False
        if self.tail is not None:
            return len(self._head) + sum(map(len, self._backfill)) >= self.tail
        if self.since is not None:
            oldest = self._backfill[-1] if self._backfill else self._head
            return bool(oldest) and _before(oldest[0], self.since)
        return True

    def _assemble_start(self) -> list[LogEvent]:
        events: list[LogEvent] = []
        for page in reversed(self._backfill):
            events.extend(page)
        events.extend(self._head)
        self._backfill = []
        self._head = []
        cut = 0
        if self.tail is not None:
            cut = max(0, len(events) - self.tail)
        if self.since is not None:
            since = self.since
            while cut < len(events) and _before(events[cut], since):
                cut += 1
        self._older_leftover = events[:cut]
        return events[cut:]

    async def poll(self) -> list[LogEvent]:
        """New events, oldest first. The first call sets the start position.

        Later calls page forward back-to-back while pages come back non-empty, up to
        `max_pages_per_poll` pages; `caught_up` says whether the end was reached. The run is
        `done` once a poll that started with the run known to be terminal reached the end.
        """
        terminal_before = self._terminal
        self.caught_up = False
        if not self._started:
            events, forward, backward = await self._recent()
            if forward is None:
                # Asking again without one would hand back the newest page again and again.
                raise ResponseShapeError("recentlogs: no next_forward_token to follow the log")
            self._forward, self._backward = forward, backward
            self._head = events
            self._started = True
            if not events:
                self.at_start = True
            self._backfilling = self._wants_backfill() and not self._backfill_complete()
            if not self._backfilling:
                self._pending.extend(self._assemble_start())
        while self._backfilling:
            events, _, backward = await self._recent(backward=self._backward)
            _check_moved(events, self._backward, backward, "backward")
            if events:
                self._backfill.append(events)
                self._backward = backward or self._backward
            else:
                self.at_start = True
            if self._backfill_complete():
                self._backfilling = False
                self._pending.extend(self._assemble_start())
        for _ in range(self.max_pages_per_poll):
            events, forward, _ = await self._recent(forward=self._forward)
            _check_moved(events, self._forward, forward, "forward")
            if forward:
                self._forward = forward
            if not events:
                self.caught_up = True
                break
            self._pending.extend(events)
        batch = self._pending
        self._pending = []
        self.delivered += len(batch)
        if self.caught_up and terminal_before:
            self.done = True
        return batch

    async def older(self) -> list[LogEvent]:
        """One page before the oldest event loaded, oldest first ([] once `at_start`)."""
        if self._older_leftover:
            page, self._older_leftover = self._older_leftover, []
            return page
        if not self._started or self._backfilling or self.at_start:
            return []
        events, _, backward = await self._recent(backward=self._backward)
        _check_moved(events, self._backward, backward, "backward")
        if events:
            self._backward = backward or self._backward
        else:
            self.at_start = True
        return events

    # -- the loop -----------------------------------------------------------------------

    async def follow(
        self,
        schedule: PollSchedule,
        *,
        on_error: ErrorHook | None = None,
        fetch_status: bool | None = None,
    ) -> AsyncIterator[list[LogEvent]]:
        """Poll, yield each batch (possibly empty), wait, until the run is done.

        With no `set_run_status` caller (or `fetch_status=True`) the follower asks for the
        run's status itself when it has caught up with the log and the log is quiet (or
        at most once per interval while lines keep coming). Batches that end short of the
        log's end (`caught_up` false) are followed by the next poll at once, never by a
        wait. Fatal errors
        (see `FATAL_ERRORS`) are raised; any other `ApiError` is reported to `on_error`
        with the chosen delay, and retried with the schedule's backoff.
        """
        fetch = (not self._status_external) if fetch_status is None else fetch_status
        last_status = float("-inf")
        while not self.done:
            try:
                batch = await self.poll()
            except ApiError as exc:
                await self._back_off(exc, schedule, on_error)
                continue
            schedule.succeeded()
            yield batch
            if self.done:
                return
            if not self.caught_up:
                continue
            now = schedule.clock.monotonic()
            # While lines keep coming the run is obviously not over: ask for its status when
            # the log goes quiet, or once per interval, not after every page of a busy log.
            due = not batch or now - last_status >= schedule.interval
            if fetch and not self._terminal and due:
                last_status = now
                try:
                    await self.refresh_status()
                except ApiError as exc:
                    await self._back_off(exc, schedule, on_error)
                    continue
                if self._terminal:
                    # One more poll now drains whatever was logged before the end.
                    continue
            if self._terminal:
                continue
            await schedule.wait(active=True, busy=bool(batch))

    async def _back_off(
        self, exc: ApiError, schedule: PollSchedule, on_error: ErrorHook | None
    ) -> None:
        if is_fatal(exc):
            raise exc
        delay = schedule.failed(_retry_after(exc), refused=refused_connection(exc))
        if on_error is not None:
            on_error(exc, delay)
        await schedule.wait(active=True)


def _events_oldest_first(raw_events: list[Any]) -> list[LogEvent]:
    """`LogEvent.from_wire` for a whole page, reversed, with a fast path for the usual shape.

    This loop runs once per log line, so it is the follower's hot spot: for an event that is
    a dict with a string message and a `...Z` timestamp it skips from_wire's general checks.
    The result is the same LogEvent either way.
    """
    events: list[LogEvent] = []
    append = events.append
    fromisoformat = datetime.fromisoformat
    for item in reversed(raw_events):
        if type(item) is dict:
            message = item.get("message")
            stamp = item.get("timestamp")
            if type(message) is str and type(stamp) is str and stamp.endswith("Z"):
                try:
                    when = fromisoformat(stamp)
                except ValueError:
                    pass
                else:
                    append(LogEvent(message=message, timestamp=when, raw_timestamp=stamp))
                    continue
        append(LogEvent.from_wire(item))
    return events


def _check_moved(events: list[LogEvent], old: str | None, new: str | None, way: str) -> None:
    """A page of events must come with a token past them (the contract: tokens are positions).

    A server that hands back the same token, or none, with events would have a follower
    repeat that page for ever (or, paging back, loop without end): refused instead, so the
    caller backs off and says why.
    """
    if events and (new is None or new == old):
        raise ResponseShapeError(f"recentlogs: a page of events without a new {way} token")


def _token(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _before(event: LogEvent, since: datetime) -> bool:
    return event.timestamp is not None and event.timestamp < since
