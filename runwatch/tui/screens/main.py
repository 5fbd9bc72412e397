"""The main screen: composes the runs, detail and log panes and routes their messages.

Each pane owns its worker and follow object (see runwatch/tui/panes); the session holds the
client and the error policy, and its connection state is what the status line shows. This
screen only wires them: a run selected in the runs pane goes to the detail and log panes, a
fresher copy of it to both, and the keys that concern the whole screen are handled here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from runwatch.tui.connection import Block
from runwatch.tui.format import inert
from runwatch.tui.panes.detail_pane import DetailPane
from runwatch.tui.panes.latest_pane import LatestPane
from runwatch.tui.panes.log_pane import LogPane
from runwatch.tui.panes.quiet_watch import QuietWatch
from runwatch.tui.panes.runs_pane import RunsPane
from runwatch.tui.widgets.footer import FittingFooter
from runwatch.tui.widgets.log_view import LogView
from runwatch.tui.widgets.run_detail import StatusHistory
from runwatch.tui.widgets.runs_table import RunsTable
from runwatch.tui.widgets.status_bar import FRESH_MARGIN, StatusBar

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.deployment_views import Deployment
    from runwatch.api.models import Run
    from runwatch.tui.session import Session

# The app's own keys: first in the footer, so that a narrow terminal still shows them.
FOOTER_FIRST = ("help", "quit", "app.help", "app.quit")


class MainScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_run", "New"),
        Binding("R", "run_again", "Rerun"),
        Binding("d", "deployments", "Deployments"),
        Binding("o", "flip_order", "Sort"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("ctrl+r", "refresh_now", "Reload"),
        Binding("i", "toggle_detail", "Info"),
        Binding("l", "focus_logs", "Logs", show=False),
        Binding("r", "focus_runs", "Runs", show=False),
        Binding("y", "copy_run_id", "Copy id", show=False),
        Binding("m", "metrics", "Metrics"),
        Binding("c", "compare", "Compare"),
    ]

    def __init__(
        self, session: Session, *, max_log_lines: int, announce: Callable[[], bool]
    ) -> None:
        super().__init__()
        self.session = session
        self.history = StatusHistory()
        self.runs_pane = RunsPane(session, self.history, announce=announce, id="runs-pane")
        self.detail_pane = DetailPane(session, self.history, id="detail")
        self.log_pane = LogPane(session, max_lines=max_log_lines, id="log-pane")
        self.quiet_watch = QuietWatch(session, id="quiet-watch")
        self.deployment_id: str | None = None
        self.deployment_name: str | None = None
        self._run_selected_shown = False

    # -- what tests and the command palette reach -----------------------------------------

    @property
    def table(self) -> RunsTable:
        return self.runs_pane.table

    @property
    def log_view(self) -> LogView:
        return self.log_pane.view

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def selected_run_id(self) -> str | None:
        return self.detail_pane.run_id

    @property
    def selected_run(self) -> Run | None:
        return self.detail_pane.run

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        settings = self.session.settings
        connection = self.session.connection
        yield StatusBar(
            clock=self.session.clock,
            fresh_for=settings.idle_interval + FRESH_MARGIN,
            last_ok=lambda: connection.last_ok,
            id="status",
        )
        yield self.runs_pane
        with Horizontal(id="bottom"):
            yield self.detail_pane
            yield self.log_pane
        yield self.quiet_watch
        yield FittingFooter(compact=True)

    def on_mount(self) -> None:
        self.table.focus()
        self.set_interval(1.0, self._tick)
        self.session.connection.listen(self._connection_changed)
        self._connection_changed()
        self.session.begin(
            self.app, on_connected=self._connected, on_client_replaced=self._client_replaced
        )

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        bindings = super().active_bindings
        first = {k: b for k, b in bindings.items() if b.binding.action in FOOTER_FIRST}
        return {**first, **{k: b for k, b in bindings.items() if k not in first}}

    def _connected(self) -> None:
        """The session has a client: find the deployment and start polling."""
        self._update_source()
        session = self.session
        self.runs_pane.choose_deployment(
            session.settings.deployment_id or session.view_state.deployment_id
        )

    def _client_replaced(self, client: AsyncAPIClient) -> None:
        for pane in (self.runs_pane, self.detail_pane, self.log_pane):
            pane.set_client(client)
        self._update_source()

    def _connection_changed(self) -> None:
        connection = self.session.connection
        self.status_bar.connection = connection.view()
        stale = connection.stale
        if stale != self.table.has_class("-stale"):
            self.table.set_class(stale, "-stale")
            self.detail_pane.redraw()
        if connection.block is not None:
            self.runs_pane.loading = False
        self.log_pane.update_marker()

    # -- routing --------------------------------------------------------------------------

    @on(RunsPane.DeploymentChosen)
    def _deployment_chosen(self, message: RunsPane.DeploymentChosen) -> None:
        self.switch_deployment(message.deployment_id, message.name)

    def switch_deployment(self, deployment_id: str, name: str | None = None) -> None:
        session = self.session
        self.deployment_id = deployment_id
        self.deployment_name = name or next(
            (d.name for d in session.deployments if d.deployment_id == deployment_id), None
        )
        session.view_state.deployment_id = deployment_id
        session.view_state.deployment_name = self.deployment_name
        session.save_view_state()
        self._select(None, None)
        self.runs_pane.watch_deployment(deployment_id)
        self._update_source()

    @on(RunsPane.RunSelected)
    def _run_selected(self, message: RunsPane.RunSelected) -> None:
        self._select(message.run_id, message.run)

    def _select(self, run_id: str | None, run: Run | None) -> None:
        self.runs_pane.selected_run_id = run_id
        self.detail_pane.show_run(run_id, run, self.deployment_id)
        # Another run's log: a silence of the last one does not slow the first polls.
        self.session.schedules["logs"].restart_silence()
        self.log_pane.show_run(run_id, run.status if run else None, self.deployment_id)
        self._sync_run_again()

    @on(RunsPane.RunRefreshed)
    def _run_refreshed(self, message: RunsPane.RunRefreshed) -> None:
        self.detail_pane.listed(message.run, fetched=message.fetched)
        if self.detail_pane.run is message.run:
            self.log_pane.set_run_status(message.run.status)

    @on(DetailPane.RunChanged)
    def _run_changed(self, message: DetailPane.RunChanged) -> None:
        self.log_pane.set_run_status(message.run.status)
        self._sync_run_again()
        if message.old_status is not None:
            self.runs_pane.announce([(message.run, message.old_status)])

    @on(LatestPane.Read)
    def _latest_read(self, message: LatestPane.Read) -> None:
        self.table.set_latest(message.values)
        latest = message.values.get(self.selected_run_id or "")
        if latest is not None:
            self.detail_pane.set_progress(latest.progress)

    def _sync_run_again(self) -> None:
        # R needs a run selected; only a change recomposes the footer (detail comes each second)
        selected = self.selected_run is not None
        if selected != self._run_selected_shown:
            self._run_selected_shown = selected
            self.refresh_bindings()

    def _update_source(self) -> None:
        session = self.session
        parts = [session.settings.api_source.label, session.api_label]
        deployment = ""
        deployment_id = self.deployment_id
        if deployment_id:
            name = self.deployment_name
            parts.append(f"deployment {name} ({self.deployment_id})" if name else deployment_id)
            deployment = f"deployment {name or self.deployment_id}"
        if session.read_only:
            # First, so that a narrow terminal still shows it.
            parts.insert(0, "READ-ONLY")
            deployment = f"READ-ONLY · {deployment}" if deployment else "READ-ONLY"
        # The deployment's name and id come from the server: shown as typed, never as markup.
        self.status_bar.source = inert(" · ".join(parts))
        self.status_bar.short_source = inert(deployment)
        label = f"Runs · {self.deployment_name or self.deployment_id or ''}"
        order = "oldest first" if session.view_state.scan_forward else "newest first"
        self.runs_pane.border_title = Text(inert(f"{label} · {order}"))

    def _tick(self) -> None:
        self.runs_pane.refresh_times()
        self.detail_pane.tick()
        poller = self.runs_pane.poller
        runs = poller.runs.values() if poller is not None else ()
        self.quiet_watch.tick(runs, self.deployment_id, self.log_pane.run_id)
        self.detail_pane.set_quiet(self.quiet_watch.labels.get(self.selected_run_id or ""))

    @on(LogView.StateChanged)
    def _log_moved(self) -> None:
        # Posted by the log view as each batch of lines lands: the follower knows the newest.
        follower = self.log_pane.follower
        if follower is not None:
            self.quiet_watch.saw_line(follower.run_id, follower.newest_time)

    @on(QuietWatch.Changed)
    def _quiet_changed(self, message: QuietWatch.Changed) -> None:
        self.table.set_quiet(message.labels)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # API failures are handled inside the panes' loops; reaching here means a bug or an
        # unexpected failure. Say so rather than let a loop die silently.
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        error = worker.error
        self.log.error(f"worker {worker.description} failed: {error!r}")
        self.notify(
            f"{worker.description} stopped: {type(error).__name__}: {error}",
            title="Internal error",
            severity="error",
            timeout=15,
        )
        if worker.group == "runs":
            reason = f"internal error while polling runs ({type(error).__name__})"
            self.session.connection.blocked(Block.FAILED, reason)

    # -- focus: no input is ever focused while hidden -------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        if (
            isinstance(widget, Input)
            and widget.id in ("runs-filter", "log-search")
            and not (widget.has_class("-open") and self._shown(widget))
        ):
            widget.remove_class("-open")
            self._focus_visible()

    def _shown(self, widget: Input) -> bool:
        pane = self.runs_pane if widget.id == "runs-filter" else self.log_pane
        return pane.display and pane.styles.display != "none" and pane.region.area > 0

    def _focus_visible(self) -> None:
        """Focus the runs table, or the log when the table cannot take it."""
        self.call_after_refresh(self._refocus)

    def _refocus(self) -> None:
        focused = self.focused
        if focused is not None and not isinstance(focused, Input) and focused.region.area:
            return
        self.table.focus()

    def key_escape(self) -> None:
        self.runs_pane.close_filter()
        self.log_pane.close_search()

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new_run", "run_again"):
            if self.session.read_only:
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

        session = self.session
        if session.read_only:
            self.notify("Read-only profile: submitting is disabled", severity="warning")
            return
        if session.client is None or session.organization_id is None:
            self.notify("Not connected yet", severity="warning")
            return

        def done(result: SubmitResult | None) -> None:
            if result is None:
                return
            if result.run is not None:
                self.notify(f"Submitted {result.run.run_id}", timeout=4)
                if result.run.deployment_id and result.run.deployment_id != self.deployment_id:
                    self.switch_deployment(result.run.deployment_id)
                self.runs_pane.select_after_poll(result.run.run_id)
            else:
                self.notify(
                    "Outcome unknown: the server may or may not have created the run. "
                    "The runs list was refreshed; check it before submitting again.",
                    severity="warning",
                    timeout=10,
                )
            session.schedules["runs"].poke()

        self.app.push_screen(
            SubmitScreen(
                session.client, session.organization_id, self.deployment_id or "", template=template
            ),
            done,
        )

    def action_deployments(self) -> None:
        from runwatch.tui.screens.deployments import DeploymentsScreen

        session = self.session
        if session.client is None or session.organization_id is None:
            self.notify("Not connected yet", severity="warning")
            return

        def done(deployment: Deployment | None) -> None:
            if deployment is not None:
                session.resume_after_block()
                self.switch_deployment(deployment.deployment_id, deployment.name)

        self.app.push_screen(
            DeploymentsScreen(session.client, session.organization_id, self.deployment_id), done
        )

    def action_flip_order(self) -> None:
        if self.deployment_id is None:
            return
        state = self.session.view_state
        state.scan_forward = not state.scan_forward
        self.session.save_view_state()
        self.runs_pane.flip_order()
        self._update_source()

    def action_toggle_pause(self) -> None:
        paused = not self.session.connection.paused
        self.session.set_paused(paused)
        self.notify("Polling paused" if paused else "Polling resumed", timeout=2)

    def action_refresh_now(self) -> None:
        session = self.session
        connection = session.connection
        if session.client is None and connection.block is not Block.AUTH:
            # Not connected yet: the engine failed to start (or is still starting).
            session.retry_start()
            return
        if connection.block is Block.AUTH and session.settings_loader is not None:
            # Most likely the user fixed the token in the config: read it again, reconnect.
            session.resume_after_block()
            connection.connecting("reconnecting with new settings…")
            self.run_worker(
                session.reload_settings(),
                group="reload",
                exclusive=True,
                exit_on_error=False,
                description="reload settings",
            )
            return
        if connection.block is not None:
            # The user acted on the blocking error (new token, deployment back): try again.
            session.resume_after_block()
            if self.deployment_id is None:
                # Blocked before a deployment was chosen (e.g. 401 on the deployments list).
                self._connected()
            elif not any(w.group == "runs" and w.is_running for w in self.runs_pane.workers):
                self.runs_pane.restart()
            run_id = self.selected_run_id
            if run_id is not None:
                self._select(run_id, self.detail_pane.run)
        session.poke_all()

    def action_toggle_detail(self) -> None:
        self.toggle_class("-show-detail" if self.has_class("-narrow") else "-hide-detail")
        # The focused pane may have just been hidden: focus one still on screen.
        self._focus_visible()

    def action_focus_logs(self) -> None:
        self.log_view.focus()

    def action_focus_runs(self) -> None:
        self.table.focus()

    def action_copy_run_id(self) -> None:
        """The selected run's id to the clipboard, for `runwatch logs -f ID` in another pane."""
        run_id = self.selected_run_id
        if run_id is None:
            self.notify("Select a run first", severity="warning")
            return
        # What the terminal is asked to put on the clipboard is shown text, never controls.
        self.app.copy_to_clipboard(inert(run_id))
        self.notify(f"Copied {run_id} (the terminal must allow OSC 52)", timeout=3)

    # -- metrics (screens/metrics.py) ----------------------------------------------------

    def action_metrics(self) -> None:
        from runwatch.tui.screens.metrics import open_metrics

        open_metrics(self, compare=False)

    def action_compare(self) -> None:
        from runwatch.tui.screens.metrics import open_metrics

        open_metrics(self, compare=True)
