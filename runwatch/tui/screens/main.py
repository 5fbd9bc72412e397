"""The main screen: runs table, run detail, live log, and the loops that feed them.

Each data source (runs list, selected run's detail, its log, older log pages, export) is one
worker in its own exclusive group. A loop worker polls, hands the result to a widget, and
waits on its `PollSchedule`; timers and keys only poke schedules. Every failure goes through
`_report`, which decides what the status bar says and whether polling continues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input
from textual.worker import Worker, WorkerState

from runwatch.follow.schedule import refused_connection
from runwatch.tui.state import ViewState
from runwatch.tui.widgets.log_view import LogView
from runwatch.tui.widgets.run_detail import RunDetail
from runwatch.tui.widgets.runs_table import RunsTable
from runwatch.tui.widgets.status_bar import Connection, Mode, StatusBar

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.errors import ApiError
    from runwatch.api.models import Deployment, Run
    from runwatch.follow.logs import LogFollower
    from runwatch.follow.runs import RunsDiff, RunsPoller
    from runwatch.follow.schedule import PollSchedule
    from runwatch.tui.app import RunwatchApp
    from runwatch.tui.backfill import DroppedLinesPager

SOURCES = ("runs", "detail", "logs")

logger = logging.getLogger("runwatch.tui")


def short_reason(error: BaseException) -> str:
    """What went wrong, in a few words for the status bar."""
    from runwatch.api.errors import ConnectionFailed, HttpError, RequestTimeout, ResponseShapeError

    if isinstance(error, ConnectionFailed | RequestTimeout):
        # A few fixed words chosen by the client ("connection refused", "answer cut off"):
        # never the transport's own text.
        return error.reason
    if isinstance(error, HttpError):
        description = error.error_description or error.error
        return _clip(f"{error.status_code} {description}".strip())
    if isinstance(error, ResponseShapeError):
        text = str(error)
        if error.url:
            text = text.replace(f" from {error.url}", "")
        return _clip(f"bad answer: {text}")
    return _clip(str(error) or type(error).__name__)


def _clip(text: str, limit: int = 120) -> str:
    # The status bar is one line: an error page's whole text would push out the rest.
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MainScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_run", "New"),
        Binding("R", "run_again", "Rerun"),
        Binding("d", "deployments", "Deploy"),
        Binding("o", "flip_order", "Sort"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("ctrl+r", "refresh_now", "Reload"),
        Binding("i", "toggle_detail", "Info"),
        Binding("l", "focus_logs", "Logs", show=False),
        Binding("r", "focus_runs", "Runs", show=False),
        Binding("y", "copy_run_id", "Copy id", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.client: AsyncAPIClient | None = None
        self.organization_id: str | None = None
        self.deployment_id: str | None = None
        self.deployment_name: str | None = None
        self.view_state = ViewState()
        self.poller: RunsPoller | None = None
        self.follower: LogFollower | None = None
        self.selected_run_id: str | None = None
        self.selected_run: Run | None = None
        self.history: dict[str, list[tuple[str, datetime]]] = {}
        self.schedules: dict[str, PollSchedule] = {}
        self.errors: dict[str, tuple[str, datetime | None]] = {}
        self.blocked: str | None = None
        self.last_ok: datetime | None = None
        self.paused = False
        self._want_more = False
        self._select_after: str | None = None
        self._restore_run: str | None = None
        self._select_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        self._runs_loaded = False
        self._pager: DroppedLinesPager | None = None

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast. Its text often quotes the server (run ids, error descriptions), so it is
        never parsed as markup and its control characters are dropped; its own line breaks
        (one line per run in a burst of status changes) are kept."""
        from runwatch.tui.format import inert

        text = "\n".join(inert(line) for line in message.split("\n"))
        super().notify(text, title=inert(title), severity=severity, timeout=timeout, markup=False)

    @property
    def rw_app(self) -> RunwatchApp:
        return self.app  # type: ignore[return-value]

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.rw_app.clock

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(clock=self.rw_app.clock, id="status")
        with Vertical(id="runs-pane"):
            yield Input(
                placeholder="filter: status names and/or part of a run id", id="runs-filter"
            )
            yield RunsTable(clock=self.rw_app.clock, id="runs")
        with Horizontal(id="bottom"):
            yield RunDetail(id="detail")
            with Vertical(id="log-pane"):
                yield LogView(id="log", max_lines=self.rw_app.max_log_lines)
                yield Input(placeholder="search the loaded log", id="log-search")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        runs_pane = self.query_one("#runs-pane")
        runs_pane.border_title = "Runs"
        runs_pane.loading = True
        self.query_one("#detail").border_title = "Run"
        self.query_one("#log").border_title = "Log"
        self.query_one(RunsTable).focus()
        self.set_interval(1.0, self._tick)
        self._update_status()
        self.rw_app.main_ready()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    # -- start ----------------------------------------------------------------------------

    def show_starting(self, text: str) -> None:
        self.status_bar.connection = Connection("starting", text)

    def show_failed(self, text: str) -> None:
        self.query_one("#runs-pane").loading = False
        self.status_bar.connection = Connection("failed", text)

    def start(self, client: AsyncAPIClient, organization_id: str, view_state: ViewState) -> None:
        """Called by the app once it has a client: pick the deployment and start polling."""
        from runwatch.follow.schedule import PollSchedule

        settings = self.rw_app.settings
        self.client = client
        self.organization_id = organization_id
        self.view_state = view_state
        for source in SOURCES:
            self.schedules[source] = PollSchedule(
                interval=settings.poll_interval,
                idle_interval=settings.idle_interval,
                max_backoff=settings.max_backoff,
                rng=self.rw_app.rng,
            )
        self.log_view.show_timestamps = view_state.show_timestamps
        self.log_view.wrap = view_state.wrap
        if view_state.run_filter:
            self.table.run_filter = type(self.table.run_filter)(view_state.run_filter)
        self.status_bar.connection = Connection("loading", "connecting…")
        self._update_source()
        self._choose_deployment(settings.deployment_id or view_state.deployment_id)

    def replace_client(self, client: AsyncAPIClient) -> None:
        """The same API at a new address (the local engine came back): carry on from here."""
        self.client = client
        for holder in (self.poller, self.follower, self._pager):
            if holder is not None:
                holder.client = client
        self._update_source()
        for schedule in self.schedules.values():
            schedule.poke()

    @work(group="deployment", exclusive=True, exit_on_error=False, description="choose deployment")
    async def _choose_deployment(self, wanted: str | None) -> None:
        from runwatch.api.deployments import list_deployments, resolve_deployment
        from runwatch.api.errors import (
            AmbiguousDeployment,
            ApiError,
            Forbidden,
            MethodNotAllowed,
            NotFound,
            UnknownDeployment,
        )

        assert self.client is not None and self.organization_id is not None
        # A deployment named by flag, env or profile (a name or an id) must be found; a
        # remembered one that has gone away falls back to the default.
        explicit = wanted if wanted and wanted == self.rw_app.settings.deployment_id else None
        schedule = self.schedules["runs"]
        while True:
            try:
                try:
                    entries = await list_deployments(self.client, self.organization_id)
                except (Forbidden, MethodNotAllowed):
                    if explicit is None:
                        raise
                    # A credential that may not list can still read the deployment it names.
                    entries = []
                if explicit is not None:
                    chosen = await resolve_deployment(
                        self.client, self.organization_id, explicit, known=entries
                    )
                else:
                    demo = [e for e in entries if e.name == "demo"]
                    chosen = self.view_state.remembered_deployment(entries) or next(
                        iter(demo or entries), None
                    )
                break
            except (AmbiguousDeployment, UnknownDeployment) as error:
                self.show_failed(f"{error} (d chooses)")
                return
            except NotFound as error:
                self._report("runs", error)
                return
            except ApiError as error:
                if self._report("runs", error):
                    return
            await schedule.wait(active=True)
        self.rw_app.deployments = entries
        if chosen is None:
            self.show_failed(
                "no deployments: create one with `runwatch deploy`, or d to type a name or id"
            )
            return
        self.switch_deployment(chosen.deployment_id, chosen.name)

    def switch_deployment(self, deployment_id: str, name: str | None = None) -> None:
        self.deployment_id = deployment_id
        self.deployment_name = name or next(
            (d.name for d in self.rw_app.deployments if d.deployment_id == deployment_id), None
        )
        self.view_state.deployment_id = deployment_id
        self.view_state.deployment_name = self.deployment_name
        self.rw_app.save_view_state(self.view_state)
        self._select_run(None)
        self.history.clear()
        self._restart_runs()
        self._update_source()

    def _restart_runs(self) -> None:
        self._runs_loaded = False
        self.table.clear()
        self.query_one("#runs-pane").loading = True
        self.errors.pop("runs", None)
        self._runs_loop()

    def _update_source(self) -> None:
        from runwatch.tui.format import inert

        app = self.rw_app
        parts = [app.settings.api_source.label, app.api_label]
        if self.deployment_id:
            label = self.deployment_name or ""
            parts.append(
                f"deployment {label} ({self.deployment_id})" if label else self.deployment_id
            )
        if app.read_only:
            # First, so that a narrow terminal still shows it.
            parts.insert(0, "READ-ONLY")
        # The deployment's name and id come from the server: shown as typed, never as markup.
        self.status_bar.source = inert(" · ".join(parts))
        label = f"Runs · {self.deployment_name or self.deployment_id or ''}"
        order = "oldest first" if self.view_state.scan_forward else "newest first"
        pane = self.query_one("#runs-pane")
        pane.border_title = Text(inert(f"{label} · {order}"))
        pane.border_subtitle = (
            Text(f"filter: {self.table.run_filter.text}") if self.table.run_filter else None
        )

    # -- the runs loop --------------------------------------------------------------------

    @work(group="runs", exclusive=True, exit_on_error=False, description="poll runs")
    async def _runs_loop(self) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.runs import RunsPoller

        assert self.client is not None and self.organization_id is not None
        assert self.deployment_id is not None
        poller = RunsPoller(
            self.client,
            self.organization_id,
            self.deployment_id,
            scan_forward=self.view_state.scan_forward,
        )
        self.poller = poller
        schedule = self.schedules["runs"]
        schedule.succeeded()
        while True:
            try:
                if self._want_more and poller.has_more:
                    self._want_more = False
                    diff = await poller.load_more()
                else:
                    diff = await poller.poll()
            except ApiError as error:
                if self._report("runs", error):
                    return
            else:
                if self.poller is not poller:
                    return
                schedule.succeeded()
                self._report("runs", None)
                self._apply_runs(diff)
            await schedule.wait(active=poller.any_active or not self._runs_loaded)

    def _apply_runs(self, diff: RunsDiff) -> None:
        poller = self.poller
        assert poller is not None
        table = self.table
        first = not self._runs_loaded
        if first:
            self._runs_loaded = True
            self.query_one("#runs-pane").loading = False
        now = self.clock()
        for run in diff.added:
            self._observe(run, now)
        moves: list[tuple[Run, str]] = []
        for change in diff.changed:
            run = change.run
            if "status" in change.fields:
                previous = self.history.get(run.run_id)
                old = previous[-1][0] if previous else None
                self._observe(run, now)
                if old is not None and old != run.status and not first:
                    moves.append((run, old))
        self._announce_many(moves)
        table.apply_diff(diff, poller.runs, poller.order)
        if first and table.row_count:
            if self._restore_run and table.select_run(self._restore_run):
                pass
            elif table.selected_run_id:
                self._schedule_select(table.selected_run_id, delay=0)
            self._restore_run = None
        if self._select_after and table.select_run(self._select_after):
            self._select_after = None
        selected = self.selected_run_id
        if selected and selected in poller.runs:
            fresh = poller.runs[selected]
            if self.selected_run is None or _newer(fresh, self.selected_run):
                self._set_selected_run(fresh)
        if diff.added or diff.changed:
            self.table.refresh_times()
        self._update_pane_subtitle()

    def _update_pane_subtitle(self) -> None:
        poller = self.poller
        if poller is None:
            return
        pane = self.query_one("#runs-pane")
        if not poller.runs:
            hint = "no runs yet" + ("" if self.rw_app.read_only else " · n submits one")
            pane.border_subtitle = Text(hint)
            return
        parts = [f"{self.table.row_count} shown"]
        if poller.has_more:
            parts.append("more below")
        if self.table.run_filter:
            parts.append(f"filter: {self.table.run_filter.text}")
        pane.border_subtitle = Text(" · ".join(parts))

    def _observe(self, run: Run, now: datetime) -> None:
        seen = self.history.setdefault(run.run_id, [])
        if not seen or seen[-1][0] != run.status:
            seen.append((run.status, now))
            if len(seen) > 50:
                del seen[:-50]

    def _announce_many(self, moves: list[tuple[Run, str]]) -> None:
        """One toast per poll, however many runs moved: a burst must not bury the screen."""
        from runwatch.tui.format import inert

        if len(moves) <= 1:
            for run, old in moves:
                self._announce(run, old)
            return
        lines = [f"{run.run_id}: {inert(old)} → {inert(run.status)}" for run, old in moves[:3]]
        if len(moves) > 3:
            lines.append(f"and {len(moves) - 3} more")
        if self.rw_app.notify_status_changes:
            failed = any(run.status == "FAILED" for run, _ in moves)
            self.notify("\n".join(lines), severity="error" if failed else "information", timeout=4)
        for run, _old in moves:
            self._ring_if_followed_finished(run)

    def _ring_if_followed_finished(self, run: Run) -> None:
        if (
            run.run_id == self.selected_run_id
            and run.status in ("SUCCEEDED", "FAILED")
            and self.rw_app.settings.bell
        ):
            self.app.bell()

    def _announce(self, run: Run, old: str) -> None:
        from runwatch.tui.format import inert

        severity: SeverityLevel = "error" if run.status == "FAILED" else "information"
        if self.rw_app.notify_status_changes:
            self.notify(
                f"{inert(old)} → {inert(run.status)}",
                title=run.run_id,
                severity=severity,
                timeout=4,
            )
        self._ring_if_followed_finished(run)

    # -- selection, detail and log loops --------------------------------------------------

    @on(DataTable.RowHighlighted, "#runs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        run_id = event.row_key.value
        if run_id is None:
            return
        table = self.table
        if event.cursor_row >= table.row_count - 10 and self.poller and self.poller.has_more:
            self._want_more = True
            self.schedules["runs"].poke()
        if run_id != self.selected_run_id:
            self._schedule_select(run_id, delay=0.15)

    def _schedule_select(self, run_id: str, *, delay: float) -> None:
        # Debounced: holding an arrow key must not start a log fetch per row passed.
        if self._select_timer is not None:
            self._select_timer.stop()
        if delay <= 0:
            self._select_run(run_id)
        else:
            self._select_timer = self.set_timer(delay, lambda: self._select_run(run_id))

    def _select_run(self, run_id: str | None) -> None:
        from runwatch.tui.format import inert

        if run_id == self.selected_run_id and run_id is not None:
            return
        self.selected_run_id = run_id
        self.selected_run = None
        self.follower = None
        self._pager = None
        self.workers.cancel_group(self, "detail")
        self.workers.cancel_group(self, "logs")
        self.workers.cancel_group(self, "logs-older")
        self.errors.pop("detail", None)
        self.errors.pop("logs", None)
        view = self.log_view
        view.reset()
        view.activity = ""
        if run_id is None:
            view.border_title = "Log"
            self.query_one(RunDetail).show(None, [], self.clock())
            self._update_log_marker()
            return
        view.border_title = Text(f"Log · {inert(run_id)}")
        run = self.poller.runs.get(run_id) if self.poller else None
        if run is not None:
            self._set_selected_run(run)
        self._detail_loop(run_id)
        self._logs_loop(run_id)
        self._update_log_marker()

    def _set_selected_run(self, run: Run) -> None:
        self.selected_run = run
        self._observe(run, self.clock())
        if self.follower is not None:
            self.follower.set_run_status(run.status)
        self._show_detail()

    def _show_detail(self) -> None:
        run = self.selected_run
        stale = bool(self.errors) or self.blocked is not None
        self.query_one(RunDetail).show(
            run,
            self.history.get(run.run_id, []) if run else [],
            self.clock(),
            stale=stale,
        )

    @work(group="detail", exclusive=True, exit_on_error=False, description="poll run detail")
    async def _detail_loop(self, run_id: str) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.api.models import Run

        assert self.client is not None and self.organization_id and self.deployment_id
        schedule = self.schedules["detail"]
        schedule.succeeded()
        while self.selected_run_id == run_id:
            try:
                data = await self.client.get_run(self.organization_id, self.deployment_id, run_id)
                run = Run.from_wire(data)
            except ApiError as error:
                if self._report("detail", error):
                    return
            else:
                schedule.succeeded()
                self._report("detail", None)
                if self.selected_run_id != run_id:
                    return
                previous = self.selected_run
                if previous is not None and previous.status != run.status:
                    self._announce(run, previous.status)
                self._set_selected_run(run)
                if run.terminal:
                    return
            await schedule.wait(active=True)

    @work(group="logs", exclusive=True, exit_on_error=False, description="follow run log")
    async def _logs_loop(self, run_id: str) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.logs import LogFollower

        assert self.client is not None and self.organization_id and self.deployment_id
        follower = LogFollower(self.client, self.organization_id, self.deployment_id, run_id)
        if self.selected_run is not None and self.selected_run.run_id == run_id:
            follower.set_run_status(self.selected_run.status)
        self.follower = follower
        schedule = self.schedules["logs"]
        schedule.succeeded()
        view = self.log_view
        while True:
            try:
                batch = await follower.poll()
            except ApiError as error:
                if self._report("logs", error):
                    return
                await schedule.wait(active=True)
                continue
            if self.follower is not follower:
                return
            schedule.succeeded()
            self._report("logs", None)
            if batch:
                view.append(batch)
            if follower.at_start and not view.at_start:
                view.at_start = True
                self._update_log_marker()  # "1,234 lines loaded" becomes "1,234 lines"
            if follower.done:
                self._update_log_marker()
                return
            if not follower.caught_up:
                # A burst larger than one poll's pages: let a frame render, then go on.
                await asyncio.sleep(0)
                continue
            await schedule.wait(active=True, busy=bool(batch))

    @on(LogView.NeedOlder)
    def _need_older(self) -> None:
        if self.follower is None or self.client is None:
            return
        view = self.log_view
        if view.dropped_front and self._pager is None and view.lines:
            from runwatch.tui.backfill import DroppedLinesPager

            assert self.organization_id and self.deployment_id
            self._pager = DroppedLinesPager(
                self.client,
                self.organization_id,
                self.deployment_id,
                self.follower.run_id,
                view.lines,
                tail_complete=not view.dropped_tail,
            )
        self._older_logs(self._pager or self.follower)

    @work(group="logs-older", exclusive=True, exit_on_error=False, description="older log page")
    async def _older_logs(self, follower: LogFollower | DroppedLinesPager) -> None:
        from runwatch.api.errors import ApiError

        view = self.log_view
        if view.loading_older or follower.at_start:
            return
        view.loading_older = True
        self._update_log_marker()
        front = view.dropped_front
        try:
            events = await follower.older()
        except ApiError as error:
            self.notify(f"Could not load older lines: {short_reason(error)}", severity="warning")
            return
        finally:
            view.loading_older = False
        if follower is not self.follower and follower is not self._pager:
            return
        if view.dropped_front != front:
            # Lines left the top while the page was on its way: it no longer joins what is
            # held. Start again from the new oldest line at the next request.
            self._pager = None
            return
        view.prepend(events)
        view.at_start = follower.at_start
        self._update_log_marker()

    @on(LogView.StateChanged)
    def _update_log_marker(self) -> None:
        from runwatch.tui.format import inert

        view = self.log_view
        if view.following and view.dropped_tail and self.selected_run_id:
            # The newest lines were dropped to make room for older ones: following again
            # means starting from the newest page, not appending after a hole.
            run_id, self.selected_run_id = self.selected_run_id, None
            self._select_run(run_id)
            return
        if self.selected_run_id:
            if view.line_count:
                loaded = f"{view.line_count:,} lines" + ("" if view.at_start else " loaded")
            else:
                # Nothing yet is either the first page still on its way or an empty log.
                done = self.follower is not None and self.follower.done
                loaded = ("no lines" if done else "no lines yet") if view.at_start else "loading…"
            view.border_title = Text(f"Log · {inert(self.selected_run_id)} · {loaded}")
        if (view.show_timestamps, view.wrap) != (
            self.view_state.show_timestamps,
            self.view_state.wrap,
        ):
            self.rw_app.remember_log_view(show_timestamps=view.show_timestamps, wrap=view.wrap)
        text = Text()
        if view.activity:
            text.append(inert(view.activity), style="bold")
        elif view.loading_older:
            text.append("loading older lines…", style="italic")
        if view.search_term:
            number = view.current_match_number
            where = f"{number}/{view.match_count}" if number else f"{view.match_count} matches"
            if text:
                text.append(" · ")
            text.append(f"/{view.search_term} {where} (n/N)")
        if text:
            text.append(" · ")
        follower = self.follower
        if not view.following:
            view.add_class("-paused")
            text.append("following paused", style="bold")
            if view.pending:
                text.append(f" · {view.pending:,} new lines")
            text.append(" · End/f resumes")
        else:
            view.remove_class("-paused")
            if "logs" in self.errors:
                text.append("stale · waiting to reconnect", style="bold yellow")
            elif follower is not None and follower.done:
                text.append("end of log (run finished)")
            elif self.selected_run_id:
                text.append("following")
        view.border_subtitle = text

    # -- reporting: the one place that interprets failures --------------------------------

    def _report(self, source: str, error: ApiError | None) -> bool:
        """Record a source's success or failure; True when the loop must stop."""
        from runwatch.api.errors import BadRequest, Forbidden, NotFound, Unauthorized

        now = self.clock()
        if error is None:
            had_error = source in self.errors
            self.errors.pop(source, None)
            self.last_ok = now
            if had_error and source == "logs":
                self._update_log_marker()
            if had_error and not self.errors:
                self.table.remove_class("-stale")
                self._show_detail()
            self._update_status()
            return False
        if isinstance(error, Unauthorized | Forbidden):
            source = self.rw_app.settings.credential_source
            kind = "401 Unauthorized" if isinstance(error, Unauthorized) else "403 Forbidden"
            self.blocked = f"{kind}: check the token of {source}"
            for schedule in self.schedules.values():
                schedule.paused = True
            self._mark_stale()
            self._update_status()
            return True
        if isinstance(error, NotFound | BadRequest):
            if source == "runs":
                self.blocked = (
                    f"{short_reason(error)}: deployment {self.deployment_id} (d switches)"
                )
                self.schedules["runs"].paused = True
                self.query_one("#runs-pane").loading = False
                self._mark_stale()
                self._update_status()
            elif source == "logs":
                self.log_view.activity = f"log unavailable: {short_reason(error)}"
                self._update_log_marker()
            else:
                self.notify(f"{self.selected_run_id}: {short_reason(error)}", severity="warning")
            return True
        refused = refused_connection(error)
        delay = self.schedules[source].failed(getattr(error, "retry_after", None), refused=refused)
        if refused:
            self.rw_app.engine_unreachable()
        self.errors[source] = (short_reason(error), now + timedelta(seconds=delay))
        self._mark_stale()
        self._update_status()
        if source == "logs":
            self._update_log_marker()
        return False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # API failures are handled inside the loops (_report); reaching here means a bug or
        # an unexpected failure. Say so rather than let a loop die silently.
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        error = worker.error
        logger.error("worker %s failed", worker.description, exc_info=error)
        self.notify(
            f"{worker.description} stopped: {type(error).__name__}: {error}",
            title="Internal error",
            severity="error",
            timeout=15,
        )
        if worker.group == "runs":
            self.blocked = f"internal error while polling runs ({type(error).__name__})"
            self._mark_stale()
            self._update_status()

    def _mark_stale(self) -> None:
        self.table.add_class("-stale")
        self._show_detail()

    def _update_status(self) -> None:
        bar = self.status_bar
        if self.blocked:
            mode: Mode = "auth" if "token" in self.blocked else "failed"
            bar.connection = Connection(mode, self.blocked, self.last_ok)
            return
        if self.errors:
            source = "runs" if "runs" in self.errors else next(iter(self.errors))
            reason, retry_at = self.errors[source]
            bar.connection = Connection("reconnecting", reason, self.last_ok, retry_at)
            return
        if self.client is None:
            return
        if self.last_ok is None:
            bar.connection = Connection("loading", "loading runs…")
            return
        bar.connection = Connection("paused" if self.paused else "live", "", self.last_ok)

    def _tick(self) -> None:
        self.table.refresh_times()
        run = self.selected_run
        if run is not None and not run.terminal:
            self._show_detail()

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new_run", "run_again"):
            if self.rw_app.read_only:
                return False
            if action == "run_again" and self.selected_run is None:
                return None
        return True

    def action_new_run(self) -> None:
        self._open_submit(None)

    def action_run_again(self) -> None:
        if self.selected_run is None:
            self.notify("Select a run first", severity="warning")
            return
        self._open_submit(self.selected_run)

    def _open_submit(self, template: Run | None) -> None:
        from runwatch.tui.screens.submit import SubmitResult, SubmitScreen

        if self.rw_app.read_only:
            self.notify("Read-only profile: submitting is disabled", severity="warning")
            return
        if self.client is None or self.organization_id is None:
            self.notify("Not connected yet", severity="warning")
            return

        def done(result: SubmitResult | None) -> None:
            if result is None:
                return
            if result.run is not None:
                self.notify(f"Submitted {result.run.run_id}", timeout=4)
                if result.run.deployment_id and result.run.deployment_id != self.deployment_id:
                    self.switch_deployment(result.run.deployment_id)
                self._select_after = result.run.run_id
                if self.poller is not None and result.run.run_id in self.poller.runs:
                    self.table.select_run(result.run.run_id)
            else:
                self.notify(
                    "Outcome unknown: the server may or may not have created the run. "
                    "The runs list was refreshed; check it before submitting again.",
                    severity="warning",
                    timeout=10,
                )
            self.schedules["runs"].poke()

        self.app.push_screen(
            SubmitScreen(
                self.client,
                self.organization_id,
                self.deployment_id or "",
                template=template,
            ),
            done,
        )

    def action_deployments(self) -> None:
        from runwatch.tui.screens.deployments import DeploymentsScreen

        if self.client is None or self.organization_id is None:
            self.notify("Not connected yet", severity="warning")
            return

        def done(deployment: Deployment | None) -> None:
            if deployment is not None:
                self.blocked = None
                self.schedules["runs"].paused = self.paused
                self.switch_deployment(deployment.deployment_id, deployment.name)

        self.app.push_screen(
            DeploymentsScreen(self.client, self.organization_id, self.deployment_id), done
        )

    def action_flip_order(self) -> None:
        if self.deployment_id is None:
            return
        self.view_state.scan_forward = not self.view_state.scan_forward
        self.rw_app.save_view_state(self.view_state)
        self._restore_run = self.selected_run_id
        self._restart_runs()
        self._update_source()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        for schedule in self.schedules.values():
            schedule.paused = self.paused
        self.notify("Polling paused" if self.paused else "Polling resumed", timeout=2)
        self._update_status()

    def action_refresh_now(self) -> None:
        if self.client is None:
            # Not connected yet: the engine failed to start (or is still starting).
            self.rw_app.retry_start()
            return
        if self.blocked and "token" in self.blocked and self.rw_app.settings_loader:
            # Most likely the user fixed the token in the config: read it again, reconnect.
            self.blocked = None
            self.paused = False
            self.status_bar.connection = Connection("loading", "reconnecting with new settings…")
            self.run_worker(
                self.rw_app.reload_settings(),
                group="reload",
                exclusive=True,
                exit_on_error=False,
                description="reload settings",
            )
            return
        if self.blocked:
            # The user acted on the blocking error (new token, deployment back): try again.
            self.blocked = None
            for schedule in self.schedules.values():
                schedule.paused = self.paused
            if self.deployment_id is None:
                # Blocked before a deployment was chosen (e.g. 401 on the deployments list).
                self._choose_deployment(
                    self.rw_app.settings.deployment_id or self.view_state.deployment_id
                )
            elif not self.workers_running("runs"):
                self._restart_runs()
            if self.selected_run_id is not None:
                run_id, self.selected_run_id = self.selected_run_id, None
                self._select_run(run_id)
        for schedule in self.schedules.values():
            schedule.poke()
        self._update_status()

    def workers_running(self, group: str) -> bool:
        return any(w.group == group and w.is_running for w in self.workers)

    def action_toggle_detail(self) -> None:
        self.toggle_class("-show-detail" if self.has_class("-narrow") else "-hide-detail")

    def action_focus_logs(self) -> None:
        self.log_view.focus()

    def action_focus_runs(self) -> None:
        self.table.focus()

    def action_copy_run_id(self) -> None:
        """The selected run's id to the clipboard, for `runwatch logs -f ID` in another pane."""
        from runwatch.tui.format import inert

        run_id = self.selected_run_id
        if run_id is None:
            self.notify("Select a run first", severity="warning")
            return
        # What the terminal is asked to put on the clipboard is shown text, never controls.
        self.app.copy_to_clipboard(inert(run_id))
        self.notify(f"Copied {run_id} (the terminal must allow OSC 52)", timeout=3)

    # -- runs filter ----------------------------------------------------------------------

    @on(RunsTable.FilterRequested)
    def _open_filter(self) -> None:
        box = self.query_one("#runs-filter", Input)
        box.value = self.table.run_filter.text
        box.add_class("-open")
        box.focus()

    @on(RunsTable.ClearFilterRequested)
    def _clear_filter(self) -> None:
        self._apply_filter("")

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(0.2, lambda: self._apply_filter(value))

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._apply_filter(event.value)
        self._close_input("#runs-filter", self.table)

    def _apply_filter(self, text: str) -> None:
        if text.strip() == self.table.run_filter.text:
            return
        poller = self.poller
        runs = poller.runs if poller else {}
        order = poller.order if poller else []
        self.table.set_filter(text, runs, order)
        self.view_state.run_filter = self.table.run_filter.text
        self.rw_app.save_view_state(self.view_state)
        self._update_pane_subtitle()

    def _close_input(self, selector: str, focus_to: Any) -> None:
        with contextlib.suppress(NoMatches):
            box = self.query_one(selector, Input)
            box.remove_class("-open")
        focus_to.focus()

    def key_escape(self) -> None:
        for selector, target in (("#runs-filter", self.table), ("#log-search", self.log_view)):
            box = self.query_one(selector, Input)
            if box.has_class("-open"):
                self._close_input(selector, target)

    # -- log search and export ------------------------------------------------------------

    @on(LogView.SearchRequested)
    def _open_search(self) -> None:
        box = self.query_one("#log-search", Input)
        box.value = self.log_view.search_term
        box.add_class("-open")
        box.focus()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        view = self.log_view
        self._close_input("#log-search", view)
        if not event.value.strip():
            view.action_clear_search()
            return
        count = view.search(event.value)
        if not count:
            self.notify(f"No match for {event.value!r} in the loaded log", severity="warning")

    @on(LogView.ExportRequested)
    def _export_requested(self) -> None:
        if self.workers_running("export"):
            # `e` again stops it: a long log over a slow link (or a server that never ends
            # its pages) must not keep a user from doing anything else with the pane.
            self.workers.cancel_group(self, "export")
            return
        if self.selected_run_id is None or self.client is None:
            self.notify("Select a run first", severity="warning")
            return
        self._export(self.selected_run_id)

    @work(group="export", exclusive=True, exit_on_error=False, description="export log")
    async def _export(self, run_id: str) -> None:
        from runwatch.api.errors import ApiError

        assert self.client is not None and self.organization_id and self.deployment_id
        path = _free_path(self.rw_app.export_dir / f"{file_name(run_id)}.log")
        view = self.log_view
        count = 0
        view.activity = f"exporting to {path}… (e stops)"
        self._update_log_marker()
        try:
            with path.open("w", encoding="utf-8") as out:
                token: str | None = None
                used: set[str] = set()
                while True:
                    page = await self.client.get_run_logs(
                        self.organization_id, self.deployment_id, run_id, next_token=token
                    )
                    events = page.get("events") or []
                    for event in events:
                        if isinstance(event, dict):
                            out.write(f"{event.get('timestamp', '')} {event.get('message', '')}\n")
                    count += len(events)
                    view.activity = f"exporting {count:,} lines to {path}… (e stops)"
                    self._update_log_marker()
                    next_token = page.get("next_token")
                    # A token seen before would start the same pages again, for ever.
                    if not isinstance(next_token, str) or not next_token or next_token in used:
                        break
                    if not events:
                        break
                    used.add(next_token)
                    token = next_token
        except (ApiError, OSError) as error:
            self.notify(f"Export failed after {count:,} lines: {error}", severity="error")
            return
        except asyncio.CancelledError:
            self.notify(f"Export stopped: the first {count:,} lines are in {path}", timeout=8)
            raise
        finally:
            view.activity = ""
            self._update_log_marker()
        self.notify(f"Exported {count:,} lines to {path}", title="Log exported", timeout=8)


def _newer(candidate: Run, current: Run) -> bool:
    if candidate.modified_at is None or current.modified_at is None:
        return candidate.status != current.status
    return candidate.modified_at >= current.modified_at


def file_name(run_id: str) -> str:
    """A run id as a file name: the server chose it, so no `/`, `..` or controls get through."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)[:120].lstrip(".")
    return name or "run"


def _free_path(path: Path) -> Path:
    if not path.exists():
        return path
    for index in range(1, 10_000):
        candidate = path.with_name(f"{path.stem}-{index}{path.suffix}")
        if not candidate.exists():
            return candidate
    return path
