"""The follow loop of `LogFollower`: poll, hand the batch out, wait, until the run is done.

Polls keep a steady cadence: the wait after a poll that caught up is the interval less the
time the poll (and a status request) took, so a line waits at most one interval for the
request that fetches it, plus that request's round trip, however slow the link.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from runwatch.api.errors import ApiError
from runwatch.follow.backoff import ErrorHook, back_off

if TYPE_CHECKING:
    from runwatch.api.models import LogEvent, Run
    from runwatch.follow.schedule import PollSchedule

__all__ = ["FollowLoop"]


class FollowLoop:
    """Mixed into `LogFollower`, which provides the state and the requests."""

    done: bool
    caught_up: bool
    _terminal: bool
    _status_external: bool

    async def poll(self) -> list[LogEvent]:
        raise NotImplementedError

    async def refresh_status(self) -> Run:
        raise NotImplementedError

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
        wait. Failed requests follow `backoff.back_off`: fatal errors are raised, any other
        `ApiError` is reported to `on_error` with the chosen delay and retried.
        """
        fetch = (not self._status_external) if fetch_status is None else fetch_status
        clock = schedule.clock
        last_status = float("-inf")
        # When the current round of polls began: the next round is due an interval after it.
        began = clock.monotonic()
        while not self.done:
            try:
                batch = await self.poll()
            except ApiError as exc:
                await back_off(exc, schedule, on_error)
                began = clock.monotonic()
                continue
            schedule.succeeded()
            yield batch
            if self.done:
                return
            if not self.caught_up:
                continue
            now = clock.monotonic()
            # While lines keep coming the run is obviously not over: ask for its status when
            # the log goes quiet, or once per interval, not after every page of a busy log.
            due = not batch or now - last_status >= schedule.interval
            if fetch and not self._terminal and due:
                last_status = now
                try:
                    await self.refresh_status()
                except ApiError as exc:
                    await back_off(exc, schedule, on_error)
                    began = clock.monotonic()
                    continue
                if self._terminal:
                    # One more poll now drains whatever was logged before the end.
                    continue
            if self._terminal:
                continue
            await schedule.wait(active=True, busy=len(batch), elapsed=clock.monotonic() - began)
            began = clock.monotonic()
