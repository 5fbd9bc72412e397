"""The metrics pane: the metrics of one run, or one metric of several runs, charted live.

It owns one `LogFollower` and worker per run. Each reads the whole log once (`read_log`,
progress in the chart's title), then the same follower keeps following while the run is
live, so the chart covers every line the run printed, not just those the log pane holds.
The chart and the table below it are brought up to date at most every UPDATE_EVERY seconds,
however fast lines arrive; a redraw costs a few milliseconds whatever the number of points.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from runwatch.follow.metrics import MetricParser
from runwatch.tui.format import inert
from runwatch.tui.panes.run_metrics import RunMetrics, number
from runwatch.tui.session import Verdict
from runwatch.tui.widgets.chart import ChartLine, LineChart, colour
from runwatch.tui.widgets.chart_series import STRENGTHS
from runwatch.tui.widgets.metric_table import MetricTable, StatsRow

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.errors import ApiError
    from runwatch.api.models import LogEvent
    from runwatch.follow.logs import LogFollower
    from runwatch.tui.session import Session

UPDATE_EVERY = 0.1
CHUNK = 250  # lines parsed between two looks at the event loop


def preferred(names: Sequence[str]) -> str | None:
    """The metric shown first: a loss if there is one (what a person checks first)."""
    for name in names:
        if "loss" in name.lower():
            return name
    return names[0] if names else None


class MetricsPane(Vertical):
    def __init__(
        self,
        session: Session,
        deployment_id: str,
        runs: Sequence[tuple[str, str | None]],
        *,
        id: str | None = None,
    ) -> None:
        """`runs`: (run id, status as last known); two or more compare one metric."""
        super().__init__(id=id)
        self.session = session
        self.deployment_id = deployment_id
        self.statuses = [status for _, status in runs]
        pattern = session.settings.metric_pattern
        self.data = [
            RunMetrics(run_id, parser=MetricParser.for_pattern(pattern)) for run_id, _ in runs
        ]
        self.compare = len(self.data) > 1
        self.metric: str | None = None  # comparing: the metric shown
        self.pinned: list[str] = []  # one run: metrics drawn besides the highlighted one
        self.followers: list[LogFollower] = []
        self._dirty = True

    def compose(self) -> ComposeResult:
        yield LineChart(id="chart")
        yield MetricTable("run" if self.compare else "metric", id="metric-table")

    def on_mount(self) -> None:
        for index, (data, status) in enumerate(zip(self.data, self.statuses, strict=True)):
            self.run_worker(
                self._load(data, status),
                group=f"metrics-{index}",
                exit_on_error=False,
                description=f"read metrics of {data.run_id}",
            )
        self.set_interval(UPDATE_EVERY, self._update_if_dirty)
        self.session.client_listeners.append(self.set_client)
        self.update()
        self.table.focus()

    def on_unmount(self) -> None:
        if self.set_client in self.session.client_listeners:
            self.session.client_listeners.remove(self.set_client)

    def set_client(self, client: AsyncAPIClient) -> None:
        # The local engine came back on another port: the followers keep their places.
        for follower in self.followers:
            follower.client = client

    @property
    def chart(self) -> LineChart:
        return self.query_one(LineChart)

    @property
    def table(self) -> MetricTable:
        return self.query_one(MetricTable)

    # -- reading --------------------------------------------------------------------------

    async def _load(self, data: RunMetrics, status: str | None) -> None:
        from runwatch.api.errors import ApiError
        from runwatch.follow.log_read import read_log
        from runwatch.follow.logs import LogFollower

        session = self.session
        client, organization_id = session.client, session.organization_id
        if client is None or organization_id is None:
            data.error = "not connected"
            return
        run_id, deployment_id = data.run_id, self.deployment_id
        follower = LogFollower(
            client, organization_id, deployment_id, run_id, from_start=True, max_pages_per_poll=1
        )
        if status is not None:
            follower.set_run_status(status)
        self.followers.append(follower)
        try:
            async for batch in read_log(
                client, organization_id, deployment_id, run_id, follower=follower
            ):
                await self._take(data, batch)
                # Let a frame show the progress between pages of a long log.
                await asyncio.sleep(0)
        except ApiError as error:
            if session.failed("metrics", error) is not Verdict.RETRY:
                self._stopped(data, error)
                return
            # A passing failure: the follower kept its place and the loop below goes on
            # from there, backing off as it does for any failure.
        follower.max_pages_per_poll = 64
        data.reading = not follower.caught_up
        data.following = not follower.done
        self._dirty = True

        def on_error(error: ApiError, delay: float) -> None:
            session.failed("metrics", error, delay=delay)

        try:
            async for batch in follower.follow(
                session.schedules["metrics"], on_error=on_error, fetch_status=True
            ):
                session.succeeded("metrics")
                await self._take(data, batch)
                if data.reading and follower.caught_up:
                    data.reading = False
        except ApiError as error:
            session.failed("metrics", error)
            self._stopped(data, error)
            return
        data.reading = data.following = False
        self._dirty = True

    async def _take(self, data: RunMetrics, batch: list[LogEvent]) -> None:
        # A few hundred lines at a time, so that a key pressed while a large page of a busy
        # run is read waits for a few milliseconds of it, not all of it.
        for start in range(0, len(batch), CHUNK):
            if start:
                await asyncio.sleep(0)
            data.add(batch[start : start + CHUNK])
        self._dirty = True

    def _stopped(self, data: RunMetrics, error: ApiError) -> None:
        data.error = error.short_reason
        data.reading = data.following = False
        self._dirty = True

    # -- what is shown --------------------------------------------------------------------

    def _update_if_dirty(self) -> None:
        if self._dirty:
            self.update()

    def names(self) -> list[str]:
        """Every metric name seen, in the order they first appeared (runs in order)."""
        seen: dict[str, None] = {}
        for data in self.data:
            seen.update(dict.fromkeys(data.series))
        return list(seen)

    @property
    def current_metric(self) -> str | None:
        if self.compare:
            return self.metric
        key = self.table.current_key
        return key if key is not None else preferred(self.data[0].names())

    def update(self) -> None:
        self._dirty = False
        chart, table = self.chart, self.table
        if self.compare:
            names = self.names()
            if self.metric is None:
                self.metric = preferred(names)
            metric = self.metric
            lines = [
                ChartLine(data.run_id, data.series[metric], colour(index))
                for index, data in enumerate(self.data)
                if metric is not None and metric in data.series
            ]
            rows = [
                self._row(data.run_id, data.run_id, data.series.get(metric or ""), colour(index))
                for index, data in enumerate(self.data)
            ]
        else:
            data = self.data[0]
            current = self.current_metric
            shown = [current, *(name for name in self.pinned if name != current)]
            lines = [
                ChartLine(name, data.series[name], colour(index))
                for index, name in enumerate(n for n in shown if n in data.series)
            ]
            drawn = {line.label: line.colour for line in lines}
            rows = [
                self._row(name, name, series, drawn.get(name))
                for name, series in data.series.items()
            ]
        if [(line.label, line.series) for line in lines] != [
            (line.label, line.series) for line in chart.lines
        ]:
            chart.set_lines(lines)
        else:
            chart.changed()
        # One run: the cursor (the metric charted) starts on a loss, not on whatever came first.
        table.show(rows, prefer=None if self.compare else preferred(self.data[0].names()))
        self._titles()

    @staticmethod
    def _row(key: str, name: str, series: object, line_colour: str | None) -> StatsRow:
        from runwatch.tui.widgets.chart_series import Series

        if not isinstance(series, Series) or not len(series):
            return StatsRow(key, name, line_colour, "-", "-", "-", 0)
        return StatsRow(
            key,
            name,
            line_colour,
            number(series.last),
            number(series.lowest),
            number(series.highest),
            len(series),
        )

    def _titles(self) -> None:
        chart = self.chart
        if self.compare:
            head = f"{self.metric or 'no metrics yet'} · {len(self.data)} runs"
            states = [d.state() for d in self.data]
            state = next((s for s in states if s.startswith(("reading", "stopped"))), states[0])
        else:
            data = self.data[0]
            head = f"Metrics · {data.run_id}"
            state = data.state()
        chart.border_title = Text(inert(f"{head} · {state}"))
        parts = []
        shown = chart.visible()
        if chart.view is not None and shown is not None:
            parts.append(f"steps {shown[0]:,.0f} to {shown[1]:,.0f}")
        elif shown is not None:
            parts.append("all steps")
        if chart.log_scale:
            parts.append("log scale")
        if chart.smoothing:
            parts.append(f"smoothing {STRENGTHS[chart.smoothing]}")
        chart.border_subtitle = Text(" · ".join(parts))

    # -- what the keys do -----------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#metric-table")
    def _highlighted(self) -> None:
        if not self.compare:
            self.update()

    def toggle_pin(self) -> None:
        """One run: keep the highlighted metric on the chart (or take it off)."""
        name = self.table.current_key
        if name is None or self.compare:
            return
        if name in self.pinned:
            self.pinned.remove(name)
        else:
            self.pinned.append(name)
        self.update()

    def cycle_metric(self, delta: int) -> None:
        """Comparing: show the next (or previous) metric."""
        names = self.names()
        if not names:
            return
        index = names.index(self.metric) if self.metric in names else -delta
        self.metric = names[(index + delta) % len(names)]
        self.chart.reset_view()
        self.update()

    @on(LineChart.ViewChanged)
    def _view_changed(self) -> None:
        self._titles()
