"""The log pane: the selected run's log, followed live, paged back on demand, searched,
filtered, jumped through, exported.

It owns the `LogFollower` (and its loop, `LogFollower.follow`), the pager that fetches again
the lines the view dropped to stay bounded (also while a jump seeks an older line), the
export, the prompt under the log (search, filter, go to) and the marker line.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from runwatch.api.wire_values import parse_time
from runwatch.follow.line_filter import FilterError, parse_filter
from runwatch.follow.log_backward import BackwardPager
from runwatch.tui.panes.log_export import export_log, file_name, free_path
from runwatch.tui.panes.log_marker import PROMPTS, log_marker, log_title
from runwatch.tui.panes.log_seek import page_back
from runwatch.tui.session import Verdict
from runwatch.tui.widgets.log_goto import GotoError, parse_goto
from runwatch.tui.widgets.log_marks import Mark
from runwatch.tui.widgets.log_view import LogView
from runwatch.tui.widgets.repaint import set_border_titles

if TYPE_CHECKING:
    from runwatch.api.errors import ApiError
    from runwatch.follow.logs import LogFollower
    from runwatch.tui.session import Session


# Pages a poll reads before handing them over (it polls again at once while behind). At 64
# a pane behind a flood got 64,000 lines at once: 25-60 MB of events alive beside the lines
# held, a peak kept as freed but unreturned heap (bench_soak.py --tracemalloc).
PAGES_PER_BATCH = 4


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
        self._prompt = "search"
        # A mark to go to once the newest page is loaded again (see NewestRequested).
        self._mark_after_reload: Mark | None = None

    def compose(self) -> ComposeResult:
        yield LogView(id="log", max_lines=self.max_lines)
        yield Input(placeholder=PROMPTS["search"], id="log-search")

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
        same_run = run_id == self.run_id
        self.run_id = run_id
        self.deployment_id = deployment_id
        self._status = status
        self.follower = None
        self.pager = None
        view = self.view
        view.reset(keep_marks=same_run)
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
        follower = LogFollower(
            session.client,
            session.organization_id,
            deployment_id,
            run_id,
            max_pages_per_poll=PAGES_PER_BATCH,
        )
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
                    if self._mark_after_reload is not None:
                        mark, self._mark_after_reload = self._mark_after_reload, None
                        view.go_to_mark(mark)
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

    def _older_source(self) -> LogFollower | BackwardPager | None:
        follower = self.follower
        if follower is None or self.session.client is None:
            return None
        view = self.view
        if view.dropped_front and self.pager is None and view.lines:
            # The follower pages back from the first page it loaded; lines dropped from the
            # top since then are fetched again from the oldest line still held, by time.
            self.pager = BackwardPager.before_held(follower.source, view.lines)
        return self.pager or follower

    def _repage_from_held(self) -> None:
        follower, view = self.follower, self.view
        if follower is not None and view.lines:
            self.pager = BackwardPager.before_held(follower.source, view.lines)

    @on(LogView.NeedOlder)
    def _need_older(self) -> None:
        view = self.view
        if view.seeking is not None:
            return  # a seek is paging back already (and would be cancelled by this worker)
        if view.loading_older:
            # A page is on its way. A new worker would cancel it (exclusive group) and, run
            # before the cancelled one let go, find a load still marked in flight: neither
            # page would come. The page on its way asks again if it cannot join.
            return
        source = self._older_source()
        if source is not None:
            self._older(source)

    @work(group="logs-older", exclusive=True, exit_on_error=False, description="older log page")
    async def _older(self, source: LogFollower | BackwardPager) -> None:
        await self._load_older(source)

    async def _load_older(self, source: LogFollower | BackwardPager) -> int | None:
        """Put the page before the loaded lines in front of them: how many lines it held
        (0: nothing this time, ask again), None when it could not be loaded."""
        from runwatch.api.errors import ApiError

        view = self.view
        if view.loading_older or source.at_start:
            return 0
        view.loading_older = True
        self.update_marker()
        front = view.dropped_front
        try:
            events = await source.older()
        except ApiError as error:
            self.notify(f"Could not load older lines: {error.short_reason}", severity="warning")
            return None
        finally:
            view.loading_older = False
            self.update_marker()
        if source is not self.follower and source is not self.pager:
            return 0
        if view.dropped_front != front:
            # Lines left the top while the page was on its way: it no longer joins what is
            # held. Start again from the new oldest line, now if the user is at the top.
            self.pager = None
            self.call_later(self._ask_again_at_top)
            return 0
        view.prepend(events)
        view.at_start = source.at_start
        self.update_marker()
        return len(events)

    def _ask_again_at_top(self) -> None:
        # A user who reached the top while a page was on its way asked nothing (one was in
        # flight); with that page thrown away, nothing would come until they scrolled again.
        # Only once the worker is over (call_later), and never while following: lines leave
        # the top only then, so a page asked for here joins and this cannot go round.
        view = self.view
        if view.line_count and view.scroll_y <= 0 and not view.following and not view.at_start:
            self._need_older()

    # -- jumps that page back -------------------------------------------------------------

    @on(LogView.SeekRequested)
    def _seek_requested(self) -> None:
        self._seek()

    @work(group="logs-older", exclusive=True, exit_on_error=False, description="seek older log")
    async def _seek(self) -> None:
        view = self.view
        seek = view.seeking
        whole = False
        try:
            if seek is not None:
                whole = await page_back(view, seek, self._older_source, self.update_marker)
            else:
                whole = True
        finally:
            if not whole:
                # Replaced or cancelled with pages fetched but never shown (`g` pressed
                # twice): the pager moved past them, so page again from the oldest line held.
                self._repage_from_held()
            # Cancelled (escape, another run) or failed: this seek is over. A newer one that
            # replaced it carries on in its own worker.
            if view.seeking is seek:
                view.seeking = None
            self.update_marker()

    @on(LogView.SeekCancelled)
    def _seek_cancelled(self) -> None:
        self.workers.cancel_group(self, "logs-older")
        view = self.view
        lines = view.seeking.lines if view.seeking is not None else 0
        view.seeking = None
        self.notify(f"Stopped after loading {lines:,} older lines", timeout=3)
        self.update_marker()

    @on(LogView.NewestRequested)
    def _newest_requested(self, event: LogView.NewestRequested) -> None:
        if self.run_id is None:
            return
        self._mark_after_reload = event.mark
        self.show_run(self.run_id, self._status, self.deployment_id)

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
        view.set_class(not view.following, "-paused")
        stale = self.session.connection.outage("logs") is not None
        # Only when the text changed: setting a title repaints the whole log.
        set_border_titles(
            view,
            log_title(view, self.run_id, done),
            log_marker(view, self.run_id, done=done, stale=stale),
        )

    def _remember_view(self) -> None:
        view, state = self.view, self.session.view_state
        if (view.show_timestamps, view.wrap) != (state.show_timestamps, state.wrap):
            state.show_timestamps = view.show_timestamps
            state.wrap = view.wrap
            self.session.save_view_state()

    # -- search ---------------------------------------------------------------------------

    @on(LogView.SearchRequested)
    def _open_search(self) -> None:
        self._open_prompt("search", self.view.search_term)

    @on(LogView.FilterRequested)
    def _open_filter(self) -> None:
        line_filter = self.view.line_filter
        self._open_prompt("filter", line_filter.spec if line_filter is not None else "")

    @on(LogView.GotoRequested)
    def _open_goto(self) -> None:
        self._open_prompt("goto", "")

    def _open_prompt(self, kind: str, value: str) -> None:
        self._prompt = kind
        box = self.search_box
        box.placeholder = PROMPTS[kind]
        box.value = value
        box.add_class("-open")
        box.focus()

    @on(Input.Submitted, "#log-search")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        view = self.view
        self.close_search()
        value = event.value
        if self._prompt == "filter":
            self._apply_filter(value)
        elif self._prompt == "goto":
            self._goto(value)
        elif not value.strip():
            view.action_clear_search()
        elif not view.search(value):
            self.notify(f"No match for {value!r} in the loaded log", severity="warning")

    def _apply_filter(self, spec: str) -> None:
        view = self.view
        if not spec.strip():
            view.set_filter(None)
            return
        try:
            line_filter = parse_filter(spec)
        except FilterError as error:
            self.notify(str(error), title="Filter", severity="error")
            return
        if not view.set_filter(line_filter):
            self.notify("No loaded line matches: new lines that do will show", timeout=4)

    def _goto(self, text: str) -> None:
        view = self.view
        newest = parse_time(view.lines[-1][0]) if view.lines else None
        try:
            target = parse_goto(text, (newest or datetime.now(UTC)).date())
        except GotoError as error:
            self.notify(str(error), title="Go to", severity="error")
            return
        view.goto(target)

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
            # `x` again stops it: a long log over a slow link (or a server that never ends
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
            view.activity = f"exporting {count:,} lines to {path}… (x stops)"
            self.update_marker()

        view.activity = f"exporting to {path}… (x stops)"
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
