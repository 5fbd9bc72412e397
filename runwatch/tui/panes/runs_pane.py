"""The runs pane: a deployment's runs, kept in step by its own poller, with a filter box.

It owns the `RunsPoller` and the worker that polls it, the choice of a deployment at start,
the status history of the runs it sees, and the toasts for runs that moved. It posts up which
run the user selected (`RunSelected`) and fresher copies of it (`RunRefreshed`).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widgets import DataTable, Input

from runwatch.tui.connection import Block
from runwatch.tui.format import inert
from runwatch.tui.panes.latest_pane import LatestPane
from runwatch.tui.session import Verdict
from runwatch.tui.widgets.marked_runs_table import MarkedRunsTable
from runwatch.tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from collections.abc import Callable

    from runwatch.api.models import Run
    from runwatch.follow.runs import RunsDiff, RunsPoller
    from runwatch.tui.session import Session
    from runwatch.tui.widgets.run_detail import StatusHistory


class RunsPane(Vertical):
    class DeploymentChosen(Message):
        def __init__(self, deployment_id: str, name: str | None) -> None:
            super().__init__()
            self.deployment_id = deployment_id
            self.name = name

    class RunSelected(Message):
        """The user settled on a run (or on none)."""

        def __init__(self, run_id: str | None, run: Run | None) -> None:
            super().__init__()
            self.run_id = run_id
            self.run = run

    class RunRefreshed(Message):
        """A poll brought a copy of the selected run; `fetched`: this poll's answer held it
        (else it is the copy kept from an earlier page)."""

        def __init__(self, run: Run, *, fetched: bool = False) -> None:
            super().__init__()
            self.run = run
            self.fetched = fetched

    def __init__(
        self,
        session: Session,
        history: StatusHistory,
        *,
        announce: Callable[[], bool],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.session = session
        self.history = history
        self._announce_on = announce
        self.deployment_id: str | None = None
        self.poller: RunsPoller | None = None
        self.selected_run_id: str | None = None
        self.loaded = False
        self._want_more = False
        self._select_after: str | None = None
        self._restore_run: str | None = None
        self._select_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        self._subtitle: Text | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: status names and/or part of a run id", id="runs-filter")
        yield MarkedRunsTable(clock=self.session.clock, id="runs")
        yield LatestPane(self.session, id="latest")

    def on_mount(self) -> None:
        self.border_title = "Runs"
        self.loading = True
        if self.session.view_state.run_filter:
            self.table.run_filter = type(self.table.run_filter)(self.session.view_state.run_filter)

    @property
    def table(self) -> MarkedRunsTable:
        return self.query_one(MarkedRunsTable)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#runs-filter", Input)

    # -- the deployment -------------------------------------------------------------------

    @work(group="deployment", exclusive=True, exit_on_error=False, description="choose deployment")
    async def choose_deployment(self, wanted: str | None) -> None:
        """Find the deployment to watch: the one named by flag, env or profile (a name or an
        id), else the remembered one, else `demo`, else the first."""
        from runwatch.api.deployments import list_deployments, resolve_deployment
        from runwatch.api.errors import (
            AmbiguousDeployment,
            ApiError,
            Forbidden,
            MethodNotAllowed,
            UnknownDeployment,
        )

        session = self.session
        assert session.client is not None and session.organization_id is not None
        # A deployment named explicitly must be found; a remembered one that has gone away
        # falls back to the default.
        explicit = wanted if wanted and wanted == session.settings.deployment_id else None
        while True:
            try:
                try:
                    entries = await list_deployments(session.client, session.organization_id)
                except (Forbidden, MethodNotAllowed):
                    if explicit is None:
                        raise
                    # A credential that may not list can still read the deployment it names.
                    entries = []
                if explicit is not None:
                    chosen = await resolve_deployment(
                        session.client, session.organization_id, explicit, known=entries
                    )
                else:
                    demo = [e for e in entries if e.name == "demo"]
                    chosen = session.view_state.remembered_deployment(entries) or next(
                        iter(demo or entries), None
                    )
                break
            except (AmbiguousDeployment, UnknownDeployment) as error:
                self.loading = False
                session.connection.blocked(Block.FAILED, f"{error} (d chooses)")
                return
            except ApiError as error:
                verdict = session.failed("runs", error)
                if verdict is Verdict.GONE:
                    self._blocked(error)
                    return
                if verdict is not Verdict.RETRY:
                    self.loading = False
                    return
            await session.schedules["runs"].wait(active=True)
        session.deployments = entries
        if chosen is None:
            self.loading = False
            session.connection.blocked(
                Block.FAILED,
                "no deployments: create one with `runwatch deploy`, or d to type a name or id",
            )
            return
        self.post_message(self.DeploymentChosen(chosen.deployment_id, chosen.name))

    def watch_deployment(self, deployment_id: str) -> None:
        """Show this deployment's runs from scratch."""
        self.deployment_id = deployment_id
        self.history.clear()
        self.restart()

    def restart(self) -> None:
        self.loaded = False
        self.poller = None
        self.table.clear()
        self.loading = True
        self.session.connection.forget("runs")
        self._poll()

    def flip_order(self) -> None:
        self._restore_run = self.selected_run_id
        self.restart()

    def select_after_poll(self, run_id: str) -> None:
        """Select this run as soon as it is listed (a run just submitted)."""
        self._select_after = run_id
        if self.poller is not None and run_id in self.poller.runs:
            self.table.select_run(run_id)

    # -- the loop -------------------------------------------------------------------------

    @work(group="runs", exclusive=True, exit_on_error=False, description="poll runs")
    async def _poll(self) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.runs import RunsPoller

        session = self.session
        assert session.client is not None and session.organization_id is not None
        assert self.deployment_id is not None
        poller = RunsPoller(
            session.client,
            session.organization_id,
            self.deployment_id,
            scan_forward=session.view_state.scan_forward,
        )
        self.poller = poller
        schedule = session.schedules["runs"]
        schedule.succeeded()
        while True:
            changed = False
            try:
                if self._want_more and poller.has_more:
                    self._want_more = False
                    diff = await poller.load_more()
                else:
                    diff = await poller.poll()
            except ApiError as error:
                verdict = session.failed("runs", error)
                if verdict is Verdict.GONE:
                    self._blocked(error)
                if verdict is not Verdict.RETRY:
                    self.loading = False
                    return
            else:
                if self.poller is not poller:
                    return
                session.succeeded("runs")
                self._apply(diff)
                changed = not diff.empty
            # `busy` when the list changed: a list that has not for a while is polled less
            # often (the runs schedule's silent pace, session.py).
            await schedule.wait(active=poller.any_active or not self.loaded, busy=changed)

    def _blocked(self, error: Exception) -> None:
        from runwatch.api.errors import ApiError

        reason = error.short_reason if isinstance(error, ApiError) else str(error)
        self.session.schedules["runs"].paused = True
        self.loading = False
        self.session.connection.blocked(
            Block.NOT_FOUND, f"{reason}: deployment {self.deployment_id} (d switches)"
        )

    def set_client(self, client: Any) -> None:
        if self.poller is not None:
            self.poller.client = client
        self.query_one(LatestPane).set_client(client)

    def _apply(self, diff: RunsDiff) -> None:
        poller = self.poller
        assert poller is not None
        table = self.table
        first = not self.loaded
        if first:
            self.loaded = True
            self.loading = False
        now = self.session.clock()
        for run in diff.added:
            self.history.observe(run, now)
        moves: list[tuple[Run, str]] = []
        for change in diff.changed:
            if "status" in change.fields:
                old = self.history.observe(change.run, now)
                if old is not None and not first:
                    moves.append((change.run, old))
        self.announce(moves)
        table.apply_diff(diff, poller.runs, poller.order)
        if first and table.row_count:
            restored = bool(self._restore_run) and table.select_run(self._restore_run or "")
            if not restored and table.selected_run_id:
                self._schedule_select(table.selected_run_id, delay=0)
            self._restore_run = None
        if self._select_after and table.select_run(self._select_after):
            self._select_after = None
        selected = self.selected_run_id
        if selected and selected in poller.runs:
            fetched = selected in poller.fetched
            self.post_message(self.RunRefreshed(poller.runs[selected], fetched=fetched))
        if diff.added or diff.changed:
            table.refresh_times()
        self.update_subtitle()
        # Progress and the metric column: the runs on screen, as `follow.latest` rules.
        self.query_one(LatestPane).refresh_runs(
            self.deployment_id, table.runs_on_screen(), metrics_wanted=table.metric is not None
        )

    def update_subtitle(self) -> None:
        poller = self.poller
        if poller is None:
            return
        if not poller.runs:
            hint = "no runs yet" + ("" if self.session.read_only else " · n submits one")
            self._set_subtitle(Text(hint))
            return
        parts = [f"{self.table.row_count} shown"]
        if poller.has_more:
            parts.append("more below")
        if self.table.run_filter:
            parts.append(f"filter: {self.table.run_filter.text}")
        self._set_subtitle(Text(inert(" · ".join(parts))))

    def _set_subtitle(self, subtitle: Text) -> None:
        # Setting it, even to the text it shows, repaints the whole pane (the table within):
        # after every poll, that was most of what an idle dashboard drew.
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = subtitle

    # -- toasts for runs that moved -------------------------------------------------------

    def announce(self, moves: list[tuple[Run, str]]) -> None:
        """One toast per poll, however many runs moved: a burst must not bury the screen."""
        if self._announce_on() and moves:
            failed = any(run.status == "FAILED" for run, _ in moves)
            severity: SeverityLevel = "error" if failed else "information"
            if len(moves) == 1:
                run, old = moves[0]
                self.notify(f"{old} → {run.status}", title=run.run_id, severity=severity, timeout=4)
            else:
                lines = [f"{run.run_id}: {old} → {run.status}" for run, old in moves[:3]]
                if len(moves) > 3:
                    lines.append(f"and {len(moves) - 3} more")
                self.notify("\n".join(lines), severity=severity, timeout=4)
        for run, _old in moves:
            if run.run_id == self.selected_run_id and run.terminal and self.session.settings.bell:
                self.app.bell()

    # -- selection ------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#runs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # An empty table (no runs, or a filter matching none) highlights no row at all.
        run_id = event.row_key.value if event.row_key is not None else None
        if run_id is None:
            return
        poller = self.poller
        if event.cursor_row >= self.table.row_count - 10 and poller and poller.has_more:
            self._want_more = True
            self.session.schedules["runs"].poke()
        if run_id != self.selected_run_id:
            self._schedule_select(run_id, delay=0.15)

    def _schedule_select(self, run_id: str, *, delay: float) -> None:
        # Debounced: holding an arrow key must not start a log fetch per row passed.
        if self._select_timer is not None:
            self._select_timer.stop()
        if delay <= 0:
            self.select(run_id)
        else:
            self._select_timer = self.set_timer(delay, lambda: self.select(run_id))

    def select(self, run_id: str | None, *, again: bool = False) -> None:
        if run_id == self.selected_run_id and run_id is not None and not again:
            return
        self.selected_run_id = run_id
        run = self.poller.runs.get(run_id) if self.poller and run_id else None
        self.post_message(self.RunSelected(run_id, run))

    # -- the filter -----------------------------------------------------------------------

    @on(RunsTable.FilterRequested)
    def _open_filter(self) -> None:
        box = self.filter_box
        box.value = self.table.run_filter.text
        box.add_class("-open")
        box.focus()

    @on(RunsTable.ClearFilterRequested)
    def _clear_filter(self) -> None:
        self.apply_filter("")

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(0.2, lambda: self.apply_filter(value))

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        self.close_filter()

    def close_filter(self) -> bool:
        """Close the filter box (its text stays applied); True when it was open."""
        with contextlib.suppress(Exception):
            box = self.filter_box
            if box.has_class("-open") or box.has_focus:
                box.remove_class("-open")
                self.table.focus()
                return True
        return False

    def apply_filter(self, text: str) -> None:
        if text.strip() == self.table.run_filter.text:
            return
        poller = self.poller
        self.table.set_filter(text, poller.runs if poller else {}, poller.order if poller else [])
        self.session.view_state.run_filter = self.table.run_filter.text
        self.session.save_view_state()
        self.update_subtitle()

    def refresh_times(self, now: datetime | None = None) -> None:
        self.table.refresh_times()
