"""Watching one run until it finishes: the loop the `watch` command and the detail pane share.

`RunWatcher.watch()` fetches the run, yields it, waits on the schedule, and again, until the
run is terminal. A caller that polls the same run another way (the dashboard's runs list)
passes each fresh copy to `confirm`: while that copy is unchanged since the last fetch, the
next fetch is skipped (it would bring the same run), and a copy that changed leaves the fetch
due. Errors retrying cannot fix (401/403/404/400, see `is_fatal`) are raised; any
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
        # Another poll saw the run unchanged during the current wait (see `confirm`).
        self._confirmed = False

    def confirm(self, run: Run) -> None:
        """Another poll has just fetched this run (the runs list of its deployment). When it
        is the run as last fetched here (same status, same `modified_at`: the server moves it
        with every change), the next fetch would bring nothing new and is skipped. A copy that
        changed leaves the fetch due: the caller shows that copy itself, and the fetch brings
        the run whole."""
        last = self.run
        if (
            last is not None
            and run.run_id == self.run_id
            and run.modified_at is not None
            and run.modified_at == last.modified_at
            and run.status == last.status
        ):
            self._confirmed = True

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
            self._confirmed = False
            await schedule.wait(active=True)
            while self._confirmed:
                # Seen unchanged by another poll during that wait: one interval more.
                self._confirmed = False
                await schedule.wait(active=True)
