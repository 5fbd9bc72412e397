"""The detail pane: the selected run's fields and history, kept fresh by its own run watcher.

It owns the `RunWatcher` (the same loop as `runwatch watch`) and the worker that drives it,
and posts every fresher copy of the run up (`RunChanged`) so the log pane knows its status.
For a FAILED run it reads, once, why it failed (`follow.failure`: the end of its log) and
shows it above the fields. The screen tells it when a running run has gone quiet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message

from runwatch.api.models import RunStatus
from runwatch.tui.session import Verdict
from runwatch.tui.widgets.failure_view import FailureView
from runwatch.tui.widgets.run_detail import RunDetail

if TYPE_CHECKING:
    from runwatch.api.errors import ApiError
    from runwatch.api.models import Run
    from runwatch.follow.progress import Progress
    from runwatch.follow.run_watch import RunWatcher
    from runwatch.tui.session import Session
    from runwatch.tui.widgets.run_detail import StatusHistory


def newer(candidate: Run, current: Run) -> bool:
    """Is `candidate` (from another poll) at least as recent as `current`?"""
    if candidate.modified_at is None or current.modified_at is None:
        return candidate.status != current.status
    return candidate.modified_at >= current.modified_at


class DetailPane(RunDetail):
    class RunChanged(Message):
        """A fresher copy of the selected run; `old_status` when its status moved."""

        def __init__(self, run: Run, old_status: str | None) -> None:
            super().__init__()
            self.run = run
            self.old_status = old_status

    def __init__(self, session: Session, history: StatusHistory, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.history = history
        self.run_id: str | None = None
        self.run: Run | None = None
        self.watcher: RunWatcher | None = None
        self.progress: Progress | None = None
        self.deployment_id: str | None = None
        # The run whose failure is read or being read (once per selection: ctrl+r selects
        # again, and so reads again after an error).
        self.failure_of: str | None = None
        # "quiet 12m" while the selected run has printed nothing for a while (from the screen).
        self.quiet: str | None = None

    @property
    def failure_view(self) -> FailureView:
        return self.query_one(FailureView)

    def on_mount(self) -> None:
        self.border_title = "Run"

    def show_run(self, run_id: str | None, run: Run | None, deployment_id: str | None) -> None:
        """Follow another run (None: none); `run` is what the runs list already knows of it."""
        self.workers.cancel_group(self, "detail")
        self.workers.cancel_group(self, "failure")
        self.session.connection.forget("detail")
        self.run_id = run_id
        self.run = None
        self.watcher = None
        self.progress = None
        self.deployment_id = deployment_id
        self.failure_of = None
        self.quiet = None
        self.failure_view.clear()
        if run is not None:
            self.update_run(run)
        else:
            self.redraw()
        if run_id is not None and deployment_id is not None:
            self._watch(run_id, deployment_id)

    def update_run(self, run: Run) -> str | None:
        """Take a copy of the run if it is not older than the one shown; the old status when
        it moved (None otherwise, or when the copy was not taken)."""
        if run.run_id != self.run_id:
            return None
        previous = self.run
        if previous is not None and not newer(run, previous):
            return None
        self.run = run
        self.history.observe(run, self.session.clock())
        self.redraw()
        self._want_failure(run)
        if previous is not None and previous.status != run.status:
            return previous.status
        return None

    def listed(self, run: Run, *, fetched: bool) -> str | None:
        """The runs list's copy of the run; `fetched`: its latest poll brought it. Such a copy,
        unchanged, spares the watcher its next request (`RunWatcher.confirm`): the list polls
        the same run as often."""
        if fetched and self.watcher is not None and run.run_id == self.run_id:
            self.watcher.confirm(run)
        return self.update_run(run)

    def redraw(self) -> None:
        run = self.run
        history = self.history.of(run.run_id) if run else []
        self.show(
            run,
            history,
            self.session.clock(),
            stale=self.session.connection.stale,
            quiet=self.quiet,
            progress=self.progress,
        )

    def set_progress(self, progress: Progress | None) -> None:
        """The selected run's latest progress (the runs pane's latest-values read)."""
        if progress != self.progress:
            self.progress = progress
            self.redraw()

    def set_quiet(self, label: str | None) -> None:
        """The selected run has printed nothing for a while ("quiet 12m"), or not (None)."""
        if label != self.quiet:
            self.quiet = label
            self.redraw()

    def tick(self) -> None:
        """Once a second: a moving run's elapsed time (its data is not drawn again)."""
        if self.run is not None and not self.run.terminal:
            self.redraw()

    def set_client(self, client: Any) -> None:
        if self.watcher is not None:
            self.watcher.client = client

    @work(group="detail", exclusive=True, exit_on_error=False, description="poll run detail")
    async def _watch(self, run_id: str, deployment_id: str) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.run_watch import RunWatcher

        session = self.session
        assert session.client is not None and session.organization_id is not None
        watcher = RunWatcher(session.client, session.organization_id, deployment_id, run_id)
        self.watcher = watcher

        def on_error(error: ApiError, delay: float) -> None:
            session.failed("detail", error, delay=delay)

        try:
            async for run in watcher.watch(session.schedules["detail"], on_error=on_error):
                if self.run_id != run_id:
                    return
                session.succeeded("detail")
                old = self.update_run(run)
                self.post_message(self.RunChanged(run, old))
        except ApiError as error:
            if session.failed("detail", error) is Verdict.GONE:
                self.notify(f"{run_id}: {error.short_reason}", severity="warning")

    # -- why it failed --------------------------------------------------------------------

    def _want_failure(self, run: Run) -> None:
        if (
            run.status != RunStatus.FAILED
            or self.failure_of == run.run_id
            or self.deployment_id is None
            or self.session.client is None
        ):
            return
        self.failure_of = run.run_id
        self.failure_view.reading()
        self._read_failure(run.run_id, self.deployment_id)

    @work(group="failure", exclusive=True, exit_on_error=False, description="read why it failed")
    async def _read_failure(self, run_id: str, deployment_id: str) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.failure import read_failure

        session = self.session
        assert session.client is not None and session.organization_id is not None
        try:
            summary = await read_failure(
                session.client, session.organization_id, deployment_id, run_id
            )
        except ApiError as error:
            if self.run_id == run_id:
                self.failure_view.failed_to_read(error.short_reason)
            return
        if self.run_id == run_id:
            self.failure_view.show_summary(summary)
