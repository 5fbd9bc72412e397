"""Watching one run until it finishes: the loop the `watch` command and the detail pane share.

`RunWatcher.watch()` fetches the run, yields it, waits on the schedule, and again, until the
run is terminal. A caller that polls the same run another way (the dashboard's runs list)
passes each fresh copy to `confirm`: while another poll has seen the run as last fetched here
within the last FRESH_FOR intervals, a fetch would bring the same run and is skipped; a copy
that changed makes the next fetch due. Errors retrying cannot fix (401/403/404/400, see
`is_fatal`) are raised; any other `ApiError` (a server away, a run in the wrong shape) is
reported to `on_error` with the schedule's backoff and waited out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from runwatch.api.errors import ApiError
from runwatch.api.models import Run
from runwatch.follow.backoff import ErrorHook, back_off, is_fatal
from runwatch.follow.schedule import PollSchedule

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["FRESH_FOR", "RunWatcher"]

# How many intervals another poll's sighting of the run spares fetches for. More than one:
# that poll's own cadence is its interval plus its round trip, so with exactly one a fetch
# slipped through every so many intervals; a poll that stops (failing, or no longer listing
# the run) leaves the fetches due within two.
FRESH_FOR = 2.0


class RunWatcher:
    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        run_id: str,
        *,
        first: Mapping[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.run_id = run_id
        self.run: Run | None = None
        self.failing = False
        self._first = first
        # When another poll last saw the run as last fetched (the schedule's clock), if since.
        self._confirmed_at: float | None = None
        self._schedule: PollSchedule | None = None

    def confirm(self, run: Run) -> None:
        """Another poll has just fetched this run (the runs list of its deployment). When it
        is the run as last fetched here (same status, same `modified_at`: the server moves it
        with every change), fetches are skipped for FRESH_FOR intervals: they would bring the
        same run. A copy that changed makes the next fetch due (the caller shows that copy
        itself meanwhile; the fetch brings the run whole)."""
        last, schedule = self.run, self._schedule
        if last is None or schedule is None or run.run_id != self.run_id:
            return
        if run.modified_at is not None and (run.modified_at, run.status) == (
            last.modified_at,
            last.status,
        ):
            self._confirmed_at = schedule.clock.monotonic()
        else:
            self._confirmed_at = None

    def _seen_lately(self, schedule: PollSchedule) -> bool:
        at = self._confirmed_at
        return at is not None and schedule.clock.monotonic() - at < FRESH_FOR * schedule.interval

    async def fetch(self) -> Run:
        data = self._first
        self._first = None
        if data is None:
            data = await self.client.get_run(self.organization_id, self.deployment_id, self.run_id)
        # A run the server sent in the wrong shape is waited out like an outage.
        run = Run.from_wire(data)
        self.run = run
        return run

    async def watch(
        self, schedule: PollSchedule, *, on_error: ErrorHook | None = None
    ) -> AsyncIterator[Run]:
        """Each fetched run (changed or not), until one is terminal."""
        self._schedule = schedule
        schedule.succeeded()
        while True:
            try:
                run = await self.fetch()
            except ApiError as exc:
                if not is_fatal(exc):
                    self.failing = True
                await back_off(exc, schedule, on_error)
                continue
            schedule.succeeded()
            # Only a sighting of the run as fetched now spares the next fetches.
            self._confirmed_at = None
            yield run
            self.failing = False
            if run.terminal:
                return
            await schedule.wait(active=True)
            while self._seen_lately(schedule):
                # Another poll saw it unchanged lately: the fetch would bring the same run.
                await schedule.wait(active=True)
