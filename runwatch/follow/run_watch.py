"""Watching one run until it finishes: the loop the `watch` command and the detail pane share.

`RunWatcher.watch()` fetches the run, yields it, waits on the schedule, and again, until the
run is terminal. Errors retrying cannot fix (401/403/404/400, see `is_fatal`) are raised; any
other `ApiError` (a server away, a run in the wrong shape) is reported to `on_error` with the
schedule's backoff and waited out.
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

__all__ = ["RunWatcher"]


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
            yield run
            self.failing = False
            if run.terminal:
                return
            await schedule.wait(active=True)
