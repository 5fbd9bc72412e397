"""The metrics view against the real engine: `m` charts a run's metrics read from its whole
log and follows it live; `space` marks runs and `c` compares them; `C` puts a metric in the
runs table; a running run's progress shows in the table and the detail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runwatch.tui.screens.main import MainScreen
from runwatch.tui.screens.metrics import MetricsScreen
from tests.tui.conftest import make_app, settings_for, wait_for
from tests.tui.test_deployments import detail_text

# Metrics in two formats (JSON lines, key=value), then, when given a gate, a progress bar
# state and more points once the gate opens.
HANDLER = """
import json, os, time

def handler(input_data, context):
    data = input_data or {}
    n = int(data.get("n", 20))
    scale = float(data.get("scale", 1.0))
    for i in range(n):
        print(json.dumps({"step": i, "loss": scale * 2.0 / (i + 1), "acc": i / n}), flush=True)
        print(f"epoch 1 lr={0.1 * (i + 1):.1f} step={i}", flush=True)
    gate = data.get("gate")
    if gate:
        print(" 50%|#####     | 5/10 [00:05<00:05,  1.00it/s]", flush=True)
        while not os.path.exists(gate):
            time.sleep(0.02)
        for i in range(n, n + 5):
            print(json.dumps({"step": i, "loss": 0.01}), flush=True)
    return {"ok": True}
"""


def _metrics(app: Any) -> MetricsScreen:
    screen = app.screen
    assert isinstance(screen, MetricsScreen)
    return screen


def _last(screen: MetricsScreen, name: str) -> float | None:
    series = screen.pane.data[0].series.get(name)
    return series.last if series is not None else None


async def test_m_charts_the_whole_log_with_log_scale_zoom_pan_and_escape(
    engine: Any, tmp_path: Path
) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="metrics")
    run_id = engine.create_run(deployment_id, version_id, input_data={"n": 40})["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    # The log pane holds 10 lines: the chart must still cover all 80.
    app = make_app(
        engine,
        tmp_path,
        settings=settings_for(engine, deployment_id=deployment_id),
        max_log_lines=10,
    )
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="selection")
        await pilot.press("m")
        screen = _metrics(app)
        pane = screen.pane
        await wait_for(pilot, lambda: not pane.data[0].reading, what="the whole log read")
        await wait_for(pilot, lambda: pane.table.row_count == 3, what="a row per metric")
        assert _last(screen, "loss") == 2.0 / 40
        assert _last(screen, "acc") == 39 / 40
        assert _last(screen, "lr") == 4.0
        assert len(pane.data[0].series["loss"]) == 40
        chart = pane.chart
        # A loss is what is shown first; the table says last / min / max.
        assert [line.label for line in chart.lines] == ["loss"]
        row = pane.table.get_row("loss")
        assert [cell.plain for cell in row[2:]] == ["0.05", "0.05", "2", "40"]
        assert "whole log" in str(chart.border_title) and pane.data[0].lines >= 80
        # Log scale: the axis labels are powers of ten of the plotted values.
        await pilot.press("L")
        assert chart.log_scale and "log scale" in str(chart.border_subtitle)
        # Zoom in, then pan: the steps in view change, and the title says which.
        await pilot.press("plus")
        assert chart.view is not None
        zoomed = chart.view
        assert zoomed[1] - zoomed[0] < 39
        await pilot.press("left")
        assert chart.view is not None and chart.view[0] < zoomed[0]
        assert "steps" in str(chart.border_subtitle)
        await pilot.press("0")
        assert chart.view is None
        # The highlighted row is the metric drawn; space keeps another one on the chart.
        await pilot.press("down")
        await pilot.press("space")
        await pilot.press("up")
        assert len(chart.lines) == 2
        await pilot.press("s")
        assert chart.smoothing == 1 and "smoothing" in str(chart.border_subtitle)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_live_run_progress_in_the_table_and_detail_and_points_appended(
    engine: Any, tmp_path: Path
) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="live")
    gate = tmp_path / "gate"
    run_id = engine.create_run(deployment_id, version_id, input_data={"n": 5, "gate": str(gate)})[
        "run_id"
    ]
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        main = app.main
        table = main.table
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="selection")
        await wait_for(pilot, lambda: "progress" in table.visible_columns, what="progress column")
        assert table.get_cell(run_id, "progress").plain == "50% eta 00:05"
        await wait_for(pilot, lambda: main.detail_pane.progress is not None, what="detail")
        assert "50% eta 00:05 · 1.00it/s" in detail_text(app)
        await pilot.press("m")
        screen = _metrics(app)
        await wait_for(pilot, lambda: _last(screen, "loss") == 2.0 / 5, what="first points")
        assert screen.pane.data[0].following
        gate.touch()
        await wait_for(pilot, lambda: _last(screen, "loss") == 0.01, what="live points")
        assert len(screen.pane.data[0].series["loss"]) == 10
        await wait_for(pilot, lambda: not screen.pane.data[0].following, what="run ended")
        await pilot.press("m")
        assert isinstance(app.screen, MainScreen)
        # Finished: no progress any more.
        await wait_for(pilot, lambda: "progress" not in table.visible_columns, what="no progress")


async def test_marked_runs_compared_and_a_metric_as_a_sortable_column(
    engine: Any, tmp_path: Path
) -> None:
    deployment_id, version_id = engine.deploy_source(HANDLER, name="compare")
    runs = []
    for scale in (1.0, 3.0, 2.0):
        run = engine.create_run(deployment_id, version_id, input_data={"n": 10, "scale": scale})
        runs.append(run["run_id"])
    for run_id in runs:
        engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        main = app.main
        table = main.table
        await wait_for(pilot, lambda: table.row_count == 3, what="runs")
        await pilot.press("c")  # nothing marked: a warning, no screen
        assert isinstance(app.screen, MainScreen)
        table.focus()
        await pilot.press("space", "down", "space")
        marked = table.shown_ids()[:2]
        assert table.marks == set(marked) and "mark" in table.visible_columns
        assert table.get_cell(marked[0], "mark").plain == "●"
        await wait_for(pilot, lambda: table.row_count == 3 and table.marks == set(marked))
        await pilot.press("c")
        screen = _metrics(app)
        pane = screen.pane
        await wait_for(pilot, lambda: all(not d.reading for d in pane.data), what="both logs read")
        await wait_for(pilot, lambda: len(pane.chart.lines) == 2, what="a line per run")
        assert pane.metric == "loss"
        assert [line.label for line in pane.chart.lines] == marked
        assert [row.value for row in pane.table.rows] == marked
        lasts = {run_id: pane.table.get_row(run_id)[2].plain for run_id in marked}
        scales = {runs[0]: "0.2", runs[1]: "0.6", runs[2]: "0.4"}
        assert lasts == {run_id: scales[run_id] for run_id in marked}
        await pilot.press("right_square_bracket")
        assert pane.metric == "acc"
        await pilot.press("left_square_bracket")
        await pilot.press("C")  # loss as the runs table's column
        assert isinstance(app.screen, MainScreen)
        assert table.metric == "loss"
        await wait_for(
            pilot,
            lambda: all(table.get_cell(r, "metric").plain != "-" for r in runs),
            what="every run's latest loss",
        )
        await pilot.press("s")  # high first
        assert table.shown_ids() == [runs[1], runs[2], runs[0]]
        await pilot.press("s")  # low first
        assert table.shown_ids() == [runs[0], runs[2], runs[1]]
        # Marks survive refreshes and a change of order.
        await pilot.press("o")
        await wait_for(pilot, lambda: table.row_count == 3, what="runs again")
        assert table.marks == set(marked)
        assert table.get_cell(marked[0], "mark").plain == "●"
