"""The latest-values pane: each running run's progress and the chosen metric's latest value.

It has nothing to show itself (the runs table and the detail show what it reads); it owns
the `LatestReader` and the worker that drives it, and posts what it read up (`Read`). The
runs pane asks it after every poll with the runs on screen; the rules for which runs are
read, and how often, are `runwatch.follow.latest`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.widget import Widget

from runwatch.tui.session import Verdict

if TYPE_CHECKING:
    from runwatch.api.models import Run
    from runwatch.follow.latest import Latest, LatestReader
    from runwatch.tui.session import Session

# Pages read at once: a screenful of running runs is read in parallel, but never dozens.
PARALLEL = 4
GAP_POLLS = 3


class LatestPane(Widget):
    DEFAULT_CSS = """
    LatestPane { display: none; }
    """

    class Read(Message):
        def __init__(self, values: dict[str, Latest]) -> None:
            super().__init__()
            self.values = values

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.reader: LatestReader | None = None

    def set_client(self, client: Any) -> None:
        if self.reader is not None:
            self.reader.client = client

    def refresh_runs(
        self, deployment_id: str | None, runs: Sequence[Run], *, metrics_wanted: bool
    ) -> None:
        """Read what is due of these runs, unless a read is still on its way."""
        from runwatch.follow.latest import LatestReader

        session = self.session
        if deployment_id is None or session.client is None or session.organization_id is None:
            return
        reader = self.reader
        if reader is None or reader.deployment_id != deployment_id:
            self.workers.cancel_group(self, "latest")
            # A running run's progress every few polls is enough for a table cell, and keeps
            # a screenful of running runs from costing a request each per poll.
            gap = GAP_POLLS * session.settings.poll_interval
            reader = self.reader = LatestReader(
                session.client,
                session.organization_id,
                deployment_id,
                gap=gap,
                metric_pattern=session.settings.metric_pattern,
            )
        elif any(w.group == "latest" and w.is_running for w in self.workers):
            return
        due = reader.due(runs, metrics_wanted=metrics_wanted)
        if due:
            self._read(reader, due)

    @work(group="latest", exit_on_error=False, description="read latest values")
    async def _read(self, reader: LatestReader, runs: list[Run]) -> None:
        from runwatch.api.errors import ApiError

        session = self.session
        gate = asyncio.Semaphore(PARALLEL)
        values: dict[str, Latest] = {}

        async def one(run: Run) -> None:
            async with gate:
                try:
                    values[run.run_id] = await reader.read(run)
                except ApiError as error:
                    # A run gone or a passing failure costs its cell, never the table; the
                    # status line says when the server is failing.
                    if session.failed("latest", error) is Verdict.RETRY:
                        return
                else:
                    session.succeeded("latest")

        await asyncio.gather(*(one(run) for run in runs))
        if values and reader is self.reader:
            self.post_message(self.Read(values))
