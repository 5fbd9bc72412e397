"""The runs table with what the metrics add: marks, a progress column and a metric column.

- `space` marks a run for comparing (`c`); a mark column appears while any run is marked, and
  marks are kept by run id, so they survive refreshes, filters and flipping the order.
- A progress column appears while a running run on screen shows a progress bar in its newest
  lines (percent or step/total, and the ETA).
- A metric column, once a metric is chosen in the metrics view (`C` there), holds each run's
  latest value of it; `s` (or a click on its header) sorts by it, high first, low first, off.
The values come from `runwatch.follow.latest` (the runs pane's `LatestPane` reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from runwatch.tui.format import inert
from runwatch.tui.widgets.run_cells import COLUMNS, DROP_ORDER
from runwatch.tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from runwatch.api.models import Run
    from runwatch.follow.latest import Latest
    from runwatch.follow.runs import RunsDiff

MARK = "●"
PROGRESS_WIDTH = 13  # "100% eta 1:02"
METRIC_WIDTH = 10
SORTS = (0, -1, 1)  # off, high first, low first


def metric_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class MarkedRunsTable(RunsTable):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark"),
        Binding("s", "sort_metric", "Sort by metric", show=False),
    ]
    # The added columns go last when the table is narrow: the progress one after the metric.
    DROP_ORDER = (*DROP_ORDER, "metric", "progress")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.marks: set[str] = set()
        self.latest: dict[str, Latest] = {}
        self.metric: str | None = None
        self.metric_sort = 0
        self._extras: tuple[str, ...] = ()

    # -- columns --------------------------------------------------------------------------

    def _wanted_extras(self) -> tuple[str, ...]:
        wanted = []
        if self.marks:
            wanted.append("mark")
        if any(
            latest.progress is not None and (run := self._shown.get(run_id)) and not run.terminal
            for run_id, latest in self.latest.items()
        ):
            wanted.append("progress")
        if self.metric is not None:
            wanted.append("metric")
        return tuple(wanted)

    def layout_columns(self) -> tuple[tuple[str, str, int], ...]:
        columns = list(COLUMNS)
        extras = self._extras
        after_status = [key for key, _, _ in columns].index("status") + 1
        if "metric" in extras:
            label = inert(self.metric or "")[:METRIC_WIDTH]
            columns.insert(after_status, ("metric", label, METRIC_WIDTH))
        if "progress" in extras:
            columns.insert(after_status, ("progress", "progress", PROGRESS_WIDTH))
        if "mark" in extras:
            columns.insert(0, ("mark", "", 1))
        return tuple(columns)

    def cells_for(self, run: Run, now: datetime) -> dict[str, Text]:
        return {**super().cells_for(run, now), **self._extra_cells(run)}

    def _extra_cells(self, run: Run) -> dict[str, Text]:
        latest = self.latest.get(run.run_id)
        progress = latest.progress if latest is not None and not run.terminal else None
        value = latest.metrics.get(self.metric) if latest and self.metric else None
        return {
            "mark": Text(MARK if run.run_id in self.marks else " ", style="bold magenta"),
            # A progress bar's text comes from the run's log: shown inert, never as markup.
            "progress": Text(inert(progress.short()) if progress else "", no_wrap=True, end=""),
            "metric": Text(metric_text(value), justify="right", no_wrap=True, end=""),
        }

    def extras_changed(self, run_ids: Iterable[str] | None = None) -> None:
        """Marks, latest values or the metric changed (for these runs; None: any run): new
        cells, and columns if need be."""
        shown = self._shown
        for run_id in shown if run_ids is None else run_ids:
            run = shown.get(run_id)
            if run is not None:
                for column, cell in self._extra_cells(run).items():
                    self._set(run_id, column, cell)
        self._commit()
        wanted = self._wanted_extras()
        if wanted != self._extras:
            self._extras = wanted
            # Not laid out yet: every column for now, the first resize fits them.
            room = self.scrollable_content_region.width or 10**6
            self._show_columns(self._choose_columns(room))
            self._fit_columns()
        if self.metric_sort:
            self._sort_by_metric(self.selected_run_id)

    # -- what the screen sets -------------------------------------------------------------

    def set_latest(self, values: Mapping[str, Latest]) -> None:
        self.latest.update(values)
        self.extras_changed(values)

    def apply_diff(self, diff: RunsDiff, runs: Mapping[str, Run], order: Sequence[str]) -> None:
        super().apply_diff(diff, runs, order)
        # A run that finished shows no progress any more; a new row gets its cells from
        # `cells_for`, so only changed runs with values read need a look.
        changed = [c.run.run_id for c in diff.changed if c.run.run_id in self.latest]
        if changed:
            self.extras_changed(changed)

    def show_metric(self, metric: str | None) -> None:
        if metric != self.metric:
            self.metric = metric
            self.metric_sort = 0 if metric is None else self.metric_sort
            self._extras = ()  # the header's label changes with the metric
            self.extras_changed()

    # -- marks and sorting ----------------------------------------------------------------

    def action_toggle_mark(self) -> None:
        run_id = self.selected_run_id
        if run_id is None:
            return
        self.marks.symmetric_difference_update({run_id})
        self.extras_changed([run_id])

    def run_status(self, run_id: str) -> str | None:
        run = self._shown.get(run_id)
        return run.status if run is not None else None

    def marked_in_order(self) -> list[str]:
        """The marked runs the table shows, top to bottom (the order a comparison uses)."""
        return [run_id for run_id in self.shown_ids() if run_id in self.marks]

    def action_sort_metric(self) -> None:
        if self.metric is None:
            self.notify("Choose a metric first: m, then C on a metric", severity="warning")
            return
        self.metric_sort = SORTS[(SORTS.index(self.metric_sort) + 1) % len(SORTS)]
        keep = self.selected_run_id
        if self.metric_sort:
            self._sort_by_metric(keep)
        else:
            super()._reorder(self._order, keep, None)

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value == "metric":
            event.stop()
            self.action_sort_metric()

    def _reorder(self, order: Sequence[str], keep: str | None, first_visible: str | None) -> None:
        if self.metric_sort:
            self._sort_by_metric(keep)
        else:
            super()._reorder(order, keep, first_visible)

    def _sort_by_metric(self, keep: str | None) -> None:
        metric, sign = self.metric, self.metric_sort
        values = {
            inert(run_id): latest.metrics.get(metric or "")
            for run_id, latest in self.latest.items()
        }

        def key(cell: Text) -> tuple[bool, float]:
            value = values.get(cell.plain)
            # Runs without a value go last whichever way the sort goes.
            return (value is None, 0.0 if value is None else sign * value)

        self.sort("id", key=key)
        self._restore_cursor(keep, scroll=True)
