"""Quiet runs for the dashboard: which running runs have printed nothing for a while.

A pane with no view of its own: it owns the `QuietRuns` state (follow/quiet.py) and the worker
that makes the light checks (the newest log page of a running run, at most once a minute
each), posts `Changed` with the "quiet 12m" labels when they change (the screen shows them in
the runs table and the detail), and raises one notification per run per quiet spell. The
screen tells it, once a second, the runs and the run the log pane follows, and, as the log
pane takes in lines, the time of that run's newest line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.widget import Widget

from runwatch.follow.quiet import QuietRuns

if TYPE_CHECKING:
    from datetime import datetime

    from runwatch.api.models import Run
    from runwatch.tui.session import Session


class QuietWatch(Widget):
    DEFAULT_CSS = """
    QuietWatch { display: none; }
    """

    class Changed(Message):
        """The "quiet 12m" label of each quiet run (the others are not quiet)."""

        def __init__(self, labels: dict[str, str]) -> None:
            super().__init__()
            self.labels = labels

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.quiet = QuietRuns(after=session.settings.quiet_after)
        self.labels: dict[str, str] = {}
        self._checking = False

    def saw_line(self, run_id: str | None, when: datetime | None) -> None:
        """The log pane took in lines of `run_id`, the newest at `when`."""
        if run_id is not None:
            self.quiet.saw_line(run_id, when)

    def tick(self, runs: Iterable[Run], deployment_id: str | None, followed: str | None) -> None:
        """Once a second: the runs as listed, and the run whose log the log pane follows."""
        quiet = self.quiet
        if not quiet.enabled:
            return
        quiet.track(runs)
        now = self.session.clock()
        if deployment_id is not None and not self._checking and self.session.client is not None:
            due = quiet.due(now, skip=followed)
            if due:
                self._checking = True
                self._check(deployment_id, due)
        labels = quiet.labels(now)
        if labels != self.labels:
            self.labels = labels
            self.post_message(self.Changed(dict(labels)))
        for run_id in quiet.newly_quiet(now):
            self.notify(
                f"{run_id} has printed nothing for {labels[run_id].removeprefix('quiet ')}",
                title="Quiet run",
                severity="warning",
                timeout=10,
            )

    @work(group="quiet", exclusive=True, exit_on_error=False, description="check quiet runs")
    async def _check(self, deployment_id: str, run_ids: list[str]) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.log_source import LogSource
        from runwatch.follow.quiet import newest_line_time

        session = self.session
        try:
            for run_id in run_ids:
                client = session.client
                if client is None or session.organization_id is None:
                    return
                source = LogSource(client, session.organization_id, deployment_id, run_id)
                try:
                    when = await newest_line_time(source)
                except ApiError:
                    # A side check: the runs poller reports the connection; try next round.
                    continue
                self.quiet.saw_line(run_id, when)
        finally:
            self._checking = False
