"""The metrics screen: the selected run's metrics (`m`) or the marked runs compared (`c`).

A whole screen, even at 80x24 a chart needs the width. It composes the metrics pane and
turns keys into its chart's zoom, pan, scale and smoothing. It dismisses with the metric to
show as a column of the runs table when the user asks for one (`C`), else with None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen

from runwatch.tui.panes.metrics_pane import MetricsPane
from runwatch.tui.widgets.footer import FittingFooter

if TYPE_CHECKING:
    from runwatch.tui.screens.main import MainScreen
    from runwatch.tui.session import Session


def open_metrics(main: MainScreen, *, compare: bool) -> None:
    """Push the metrics screen: the selected run's metrics, or (`compare`) the marked runs'.
    A metric it returns (`C`) becomes the runs table's metric column."""
    table, session = main.table, main.session
    if compare:
        runs = [(run_id, table.run_status(run_id)) for run_id in table.marked_in_order()]
        missing = "Mark runs with space first, then c compares them"
    else:
        run = main.selected_run
        runs = [(run.run_id, run.status)] if run is not None else []
        missing = "Select a run first"
    if not runs:
        main.notify(missing, severity="warning")
        return
    if session.client is None or main.deployment_id is None:
        main.notify("Not connected yet", severity="warning")
        return

    def done(metric: str | None) -> None:
        if metric is not None:
            table.show_metric(metric)
            main.notify(f"The runs table shows {metric} (s sorts by it)", timeout=4)
            # The next poll reads the runs on screen for it.
            session.schedules["runs"].poke()

    main.app.push_screen(MetricsScreen(session, main.deployment_id, runs), done)


class MetricsScreen(Screen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,m", "leave", "Back"),
        Binding("L", "log_scale", "Log"),
        Binding("s", "smooth", "Smooth"),
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom", key_display="+ -"),
        Binding("minus", "zoom(2)", "Zoom out", show=False),
        Binding("0", "whole", "All"),
        Binding("space", "pin", "Add line"),
        Binding("left_square_bracket", "metric(-1)", "Prev metric", show=False),
        Binding("right_square_bracket", "metric(1)", "Metric", key_display="[ ]"),
        Binding("C", "column", "As column"),
        # Before the table's own left / right (it would scroll sideways); in the help, not
        # the footer: a priority key goes first there and would push Back out at 80x24.
        Binding("left,h", "pan(-0.25)", "Pan", show=False, priority=True),
        Binding("right", "pan(0.25)", "Pan right", show=False, priority=True),
    ]

    DEFAULT_CSS = """
    MetricsScreen { layout: vertical; }
    MetricsScreen #metrics-pane { height: 1fr; }
    MetricsScreen LineChart { border: round $panel-lighten-2; border-subtitle-color: $text-muted; }
    """

    def __init__(
        self, session: Session, deployment_id: str, runs: Sequence[tuple[str, str | None]]
    ) -> None:
        super().__init__()
        self.pane = MetricsPane(session, deployment_id, runs, id="metrics-pane")

    def compose(self) -> ComposeResult:
        yield self.pane
        yield FittingFooter(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pin":
            return not self.pane.compare
        if action == "metric":
            return self.pane.compare
        return True

    def action_leave(self) -> None:
        self.dismiss(None)

    def action_pin(self) -> None:
        self.pane.toggle_pin()

    def action_metric(self, delta: int) -> None:
        self.pane.cycle_metric(delta)

    def action_log_scale(self) -> None:
        self.pane.chart.toggle_log()

    def action_smooth(self) -> None:
        self.pane.chart.cycle_smoothing()

    def action_zoom(self, factor: float) -> None:
        self.pane.chart.zoom(factor)

    def action_pan(self, fraction: float) -> None:
        self.pane.chart.pan(fraction)

    def action_whole(self) -> None:
        self.pane.chart.reset_view()

    def action_column(self) -> None:
        metric = self.pane.current_metric
        if metric is None:
            self.notify("No metric yet", severity="warning")
            return
        self.dismiss(metric)
