"""The log pane: the selected run's log, followed live, paged back on demand, searched, exported.

It owns the `LogFollower` (and its loop, `LogFollower.follow`), the pager that fetches again
the lines the view dropped to stay bounded, the export, and the marker line under the log.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from runwatch.follow.log_backward import BackwardPager
from runwatch.tui.format import inert
from runwatch.tui.panes.log_export import export_log, file_name, free_path
from runwatch.tui.session import Verdict
from runwatch.tui.widgets.log_view import LogView
from runwatch.tui.widgets.repaint import set_border_titles

if TYPE_CHECKING:
    from runwatch.api.errors import ApiError
    from runwatch.follow.logs import LogFollower
    from runwatch.tui.session import Session


class LogPane(Vertical):
    def __init__(self, session: Session, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.max_lines = max_lines
        self.run_id: str | None = None
        self.deployment_id: str | None = None
        self.follower: LogFollower | None = None
        self.pager: BackwardPager | None = None
        self._status: str | None = None

    def compose(self) -> ComposeResult:
        yield LogView(id="log", max_lines=self.max_lines)
        yield Input(placeholder="search the loaded log", id="log-search")

    def on_mount(self) -> None:
        view = self.view
        view.border_title = "Log"
        view.show_timestamps = self.session.view_state.show_timestamps
        view.wrap = self.session.view_state.wrap

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def search_box(self) -> Input:
        return self.query_one("#log-search", Input)

    # -- which run ------------------------------------------------------------------------

    def show_run(self, run_id: str | None, status: str | None, deployment_id: str | None) -> None:
        """Follow another run's log from its newest page (None: show nothing)."""
        self.workers.cancel_group(self, "logs")
        self.workers.cancel_group(self, "logs-older")
        self.session.connection.forget("logs")
        self.run_id = run_id
        self.deployment_id = deployment_id
        self._status = status
        self.follower = None
        self.pager = None
        view = self.view
        view.reset()
        view.activity = ""
        if run_id is not None and deployment_id is not None:
            self._follow(run_id, deployment_id)
        self.update_marker()

    def set_run_status(self, status: str) -> None:
        self._status = status
        if self.follower is not None:
            self.follower.set_run_status(status)

    def set_client(self, client: Any) -> None:
        for holder in (self.follower, self.pager):
            if holder is not None:
                holder.client = client

    # -- following ------------------------------------------------------------------------

    @work(group="logs", exclusive=True, exit_on_error=False, description="follow run log")
    async def _follow(self, run_id: str, deployment_id: str) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.logs import LogFollower

        session = self.session
        assert session.client is not None and session.organization_id is not None
        follower = LogFollower(session.client, session.organization_id, deployment_id, run_id)
        if self._status is not None:
            follower.set_run_status(self._status)
        self.follower = follower
        view = self.view

        def on_error(error: ApiError, delay: float) -> None:
            session.failed("logs", error, delay=delay)
            self.update_marker()

        first = True
        try:
            # The run's status comes from the detail pane (set_run_status), never fetched here.
            batches = follower.follow(
                session.schedules["logs"], on_error=on_error, fetch_status=False
            )
            async for batch in batches:
                if self.follower is not follower:
                    return
                session.succeeded("logs")
                if batch:
                    view.append(batch)
                if follower.at_start and not view.at_start and not view.dropped_front:
                    view.at_start = True
                if first:
                    first = False
                    self.call_after_refresh(self._probe_start)
                self.update_marker()
                if not follower.caught_up:
                    # A burst larger than one poll's pages: let a frame render, then go on.
                    await asyncio.sleep(0)
        except ApiError as error:
            if session.failed("logs", error) is Verdict.GONE:
                view.activity = f"log unavailable: {error.short_reason}"
        self.update_marker()

    def _probe_start(self) -> None:
        # A log that fits in the pane may well be the whole log: one page back tells, so the
        # marker says "33 lines", not "33 lines loaded" as if more were waiting.
        view = self.view
        if view.line_count and not view.at_start and view.max_scroll_y == 0:
            self._need_older()

    @on(LogView.NeedOlder)
    def _need_older(self) -> None:
        follower = self.follower
        session = self.session
        if follower is None or session.client is None:
            return
        view = self.view
        if view.dropped_front and self.pager is None and view.lines:
            # The follower pages back from the first page it loaded; lines dropped from the
            # top since then are fetched again from the oldest line still held, by time.
            self.pager = BackwardPager.before_held(follower.source, view.lines)
        self._older(self.pager or follower)

    @work(group="logs-older", exclusive=True, exit_on_error=False, description="older log page")
    async def _older(self, source: LogFollower | BackwardPager) -> None:
        from runwatch.api.errors import ApiError

        view = self.view
        if view.loading_older or source.at_start:
            return
        view.loading_older = True
        self.update_marker()
        front = view.dropped_front
        try:
            events = await source.older()
        except ApiError as error:
            self.notify(f"Could not load older lines: {error.short_reason}", severity="warning")
            return
        finally:
            view.loading_older = False
            self.update_marker()
        if source is not self.follower and source is not self.pager:
            return
        if view.dropped_front != front:
            # Lines left the top while the page was on its way: it no longer joins what is
            # held. Start again from the new oldest line at the next request.
            self.pager = None
            return
        view.prepend(events)
        view.at_start = source.at_start
        self.update_marker()

    # -- the marker -----------------------------------------------------------------------

    @on(LogView.StateChanged)
    def update_marker(self) -> None:
        view = self.view
        if view.following and view.dropped_tail and self.run_id:
            # The newest lines were dropped to make room for older ones: following again
            # means starting from the newest page, not appending after a hole.
            self.show_run(self.run_id, self._status, self.deployment_id)
            return
        self._remember_view()
        follower = self.follower
        done = follower is not None and follower.done
        if self.run_id:
            if view.line_count:
                loaded = f"{view.line_count:,} lines" + ("" if view.at_start else " loaded")
            else:
                # Nothing yet is either the first page still on its way or an empty log.
                loaded = ("no lines" if done else "no lines yet") if view.at_start else "loading…"
            title: Text | str = Text(f"Log · {inert(self.run_id)} · {loaded}")
        else:
            title = "Log"
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
            text.append(f"/{inert(view.search_term)} {where} (n/N)")
        if text:
            text.append(" · ")
        view.set_class(not view.following, "-paused")
        if not view.following:
            text.append("following paused", style="bold")
            if view.pending:
                text.append(f" · {view.pending:,} new lines")
            text.append(" · End/f resumes")
        elif self.session.connection.outage("logs") is not None:
            text.append("stale · waiting to reconnect", style="bold yellow")
        elif done:
            text.append("end of log (run finished)")
        elif self.run_id:
            text.append("following")
        # Only when the text changed: setting a title repaints the whole log.
        set_border_titles(view, title, text)

    def _remember_view(self) -> None:
        view, state = self.view, self.session.view_state
        if (view.show_timestamps, view.wrap) != (state.show_timestamps, state.wrap):
            state.show_timestamps = view.show_timestamps
            state.wrap = view.wrap
            self.session.save_view_state()

    # -- search ---------------------------------------------------------------------------

    @on(LogView.SearchRequested)
    def _open_search(self) -> None:
        box = self.search_box
        box.value = self.view.search_term
        box.add_class("-open")
        box.focus()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        view = self.view
        self.close_search()
        if not event.value.strip():
            view.action_clear_search()
            return
        if not view.search(event.value):
            self.notify(f"No match for {event.value!r} in the loaded log", severity="warning")

    def close_search(self) -> bool:
        """Close the search box; True when it was open."""
        box = self.search_box
        if box.has_class("-open") or box.has_focus:
            box.remove_class("-open")
            self.view.focus()
            return True
        return False

    # -- export ---------------------------------------------------------------------------

    def exporting(self) -> bool:
        return any(w.group == "export" and w.is_running for w in self.workers)

    @on(LogView.ExportRequested)
    def _export_requested(self) -> None:
        if self.exporting():
            # `e` again stops it: a long log over a slow link (or a server that never ends
            # its pages) must not keep a user from doing anything else with the pane.
            self.workers.cancel_group(self, "export")
            return
        if self.run_id is None or self.deployment_id is None or self.session.client is None:
            self.notify("Select a run first", severity="warning")
            return
        self._export(self.run_id, self.deployment_id)

    @work(group="export", exclusive=True, exit_on_error=False, description="export log")
    async def _export(self, run_id: str, deployment_id: str) -> None:
        from runwatch.api.errors import ApiError

        session = self.session
        assert session.client is not None and session.organization_id is not None
        path = free_path(session.export_dir / f"{file_name(run_id)}.log")
        view = self.view
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            done = count
            view.activity = f"exporting {count:,} lines to {path}… (e stops)"
            self.update_marker()

        view.activity = f"exporting to {path}… (e stops)"
        self.update_marker()
        try:
            count = await export_log(
                session.client, session.organization_id, deployment_id, run_id, path, progress
            )
        except (ApiError, OSError) as error:
            self.notify(f"Export failed after {done:,} lines: {error}", severity="error")
            return
        except asyncio.CancelledError:
            self.notify(f"Export stopped: the first {done:,} lines are in {path}", timeout=8)
            raise
        finally:
            view.activity = ""
            self.update_marker()
        self.notify(f"Exported {count:,} lines to {Path(path)}", title="Log exported", timeout=8)
