"""The metrics view against the real engine: `m` charts a run's metrics read from its whole
log and follows it live; `space` marks runs and `c` compares them; `C` puts a metric in the
runs table; a running run's progress shows in the table and the detail. Snapshots of the
charts and of a comparison at 80x24 and 160x50.

One engine serves the module (frozen clock, sequential ids, so the snapshots are stable);
every run is created up front in a fixed order, one deployment per use.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from runwatch.tui.panes.latest_pane import LatestPane
from runwatch.tui.screens.main import MainScreen
from runwatch.tui.screens.metrics import MetricsScreen
from tests.conftest import EngineProcess, start_engine
from tests.tui.conftest import FIXED_NOW, FROZEN_ENGINE_CLOCK, make_app, settings_for, wait_for
from tests.tui.test_deployments import detail_text

# Metrics in two formats (JSON lines, key=value); with a gate, a progress bar's state, then
# more points once the gate opens.
HANDLER = """
import json, math, os, time

def handler(input_data, context):
    data = input_data or {}
    n = int(data.get("n", 20))
    scale = float(data.get("scale", 1.0))
    for i in range(n):
        loss = scale * (2.0 / (1 + 0.03 * i) + 0.08 * math.sin(i / 4)) + (0.9 if i == 150 else 0)
        print(json.dumps({"step": i, "loss": round(loss, 5), "acc": round(i / n, 5)}))
        if i % 2 == 0:
            print(f"epoch 1 lr={0.1 * (i + 2):.1f} step={i}")
    gate = data.get("gate")
    if gate:
        print(" 50%|#####     | 5/10 [00:05<00:05,  1.00it/s]", flush=True)
        while not os.path.exists(gate):
            time.sleep(0.02)
        for i in range(n, n + 5):
            print(json.dumps({"step": i, "loss": 0.01}), flush=True)
    return {"ok": True}
"""
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 50), id="160x50")]
# The compared runs' scales, in the order they are created (the table shows newest first).
SCALES = (1.0, 3.0, 2.0)


@dataclass
class World:
    engine: EngineProcess
    gate: Path
    deployments: dict[str, str]
    runs: dict[str, list[str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("metrics")
    engine = start_engine(
        tmp / "engine",
        extra_args=["--queues", "2"],
        env={"RUNWATCH_ENGINE_CLOCK": FROZEN_ENGINE_CLOCK},
    )
    try:
        world = World(engine, tmp / "gate", {}, {})
        inputs: dict[str, list[dict[str, Any]]] = {
            "snapshots": [{"n": 300, "scale": 1.0}, {"n": 300, "scale": 1.4}],
            "compare": [{"n": 10, "scale": scale} for scale in SCALES],
            "live": [{"n": 5, "gate": str(world.gate)}],
        }
        for name, datas in inputs.items():
            deployment_id, version_id = engine.deploy_source(HANDLER, name=name)
            world.deployments[name] = deployment_id
            world.runs[name] = [
                str(engine.create_run(deployment_id, version_id, input_data=data)["run_id"])
                for data in datas
            ]
        for name in ("snapshots", "compare"):
            for run_id in world.runs[name]:
                engine.wait_for_status(world.deployments[name], run_id, {"SUCCEEDED"})
        yield world
    finally:
        world.gate.touch()
        engine.close()


def _app(world: World, tmp_path: Path, name: str, **kwargs: Any) -> Any:
    settings = settings_for(world.engine, deployment_id=world.deployments[name])
    return make_app(world.engine, tmp_path, settings=settings, **kwargs)


def _metrics(app: Any) -> MetricsScreen:
    screen = app.screen
    assert isinstance(screen, MetricsScreen)
    return screen


def _last(screen: MetricsScreen, name: str, run: int = 0) -> float | None:
    series = screen.pane.data[run].series.get(name)
    return series.last if series is not None else None


async def test_charts_zoom_pan_log_scale_then_marked_runs_compared_and_a_metric_column(
    world: World, tmp_path: Path
) -> None:
    runs = world.runs["compare"]
    # The log pane holds 10 lines: the chart must still cover every one.
    app = _app(world, tmp_path, "compare", max_log_lines=10)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        main = app.main
        table = main.table
        await wait_for(pilot, lambda: table.row_count == 3, what="runs")
        await wait_for(pilot, lambda: main.selected_run_id == runs[2], what="selection")
        await pilot.press("m")
        screen = _metrics(app)
        pane = screen.pane
        await wait_for(pilot, lambda: pane.table.row_count == 3, what="a row per metric")
        await wait_for(pilot, lambda: not pane.data[0].following, what="the whole log read")
        # The selected (newest) run has scale 2; its last step is 9.
        assert _last(screen, "loss") == round(2.0 * (2.0 / 1.27 + 0.08 * math.sin(9 / 4)), 5)
        assert (_last(screen, "acc"), _last(screen, "lr")) == (0.9, 1.0)
        assert len(pane.data[0].series["loss"]) == 10 and pane.data[0].lines > 10
        chart = pane.chart
        # A loss is what is shown first; the table says last / min / max and the points.
        assert [line.label for line in chart.lines] == ["loss"]
        assert [cell.plain for cell in pane.table.get_row("acc")[2:]] == ["0.9", "0", "0.9", "10"]
        assert "whole log" in str(chart.border_title)
        await pilot.press("L")
        assert chart.log_scale and "log scale" in str(chart.border_subtitle)
        # Zoom in, then pan: the steps in view change, and the subtitle says which.
        await pilot.press("plus")
        assert chart.view == (2.25, 6.75)
        await pilot.press("left")
        assert chart.view == (1.125, 5.625)
        assert "steps 1 to 6" in str(chart.border_subtitle)
        await pilot.press("0")
        assert chart.view is None
        # The highlighted row is the metric drawn; space keeps another one on the chart.
        await pilot.press("down", "space", "up")
        assert [line.label for line in chart.lines] == ["loss", "acc"]
        await pilot.press("s")
        assert chart.smoothing == 1 and "smoothing" in str(chart.border_subtitle)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)

        await pilot.press("c")  # nothing marked yet: a warning, no screen
        assert isinstance(app.screen, MainScreen)
        table.focus()
        await pilot.press("home", "space", "down", "space")
        marked = runs[2], runs[1]
        assert table.marks == set(marked) and "mark" in table.visible_columns
        assert table.get_cell(marked[0], "mark").plain == "●"
        await pilot.press("c")
        pane = _metrics(app).pane
        await wait_for(pilot, lambda: len(pane.chart.lines) == 2, what="a line per run")
        await wait_for(pilot, lambda: all(not d.following for d in pane.data), what="logs read")
        assert pane.metric == "loss"
        assert [line.label for line in pane.chart.lines] == list(marked)
        assert [row.value for row in pane.table.rows] == list(marked)
        lasts = [pane.table.get_row(run_id)[2].plain for run_id in marked]
        assert lasts == [f"{_last(_metrics(app), 'loss', i):.6g}" for i in range(2)]
        await pilot.press("right_square_bracket")
        assert pane.metric == "acc"
        await pilot.press("left_square_bracket", "C")  # loss, as the runs table's column
        assert isinstance(app.screen, MainScreen) and table.metric == "loss"
        await wait_for(
            pilot,
            lambda: all(table.get_cell(r, "metric").plain != "-" for r in runs),
            what="every run's latest loss",
        )
        # Every run has finished: each was read once, and later polls read none again.
        reader = main.runs_pane.query_one(LatestPane).reader
        assert reader is not None
        requests = reader.requests
        await pilot.pause(0.5)  # a few polls
        assert reader.requests == requests <= len(runs) + 1
        await pilot.press("s")  # high first: the scales 3, 2, 1
        assert table.shown_ids() == [runs[1], runs[2], runs[0]]
        await pilot.press("s")  # low first
        assert table.shown_ids() == [runs[0], runs[2], runs[1]]
        # Marks survive refreshes and a change of order.
        await pilot.press("s", "o")
        await wait_for(pilot, lambda: table.row_count == 3, what="runs again")
        assert table.marks == set(marked)
        assert table.get_cell(marked[0], "mark").plain == "●"


async def test_a_live_run_progress_in_the_table_and_detail_and_points_appended(
    world: World, tmp_path: Path
) -> None:
    (run_id,) = world.runs["live"]
    app = _app(world, tmp_path, "live")
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
        await wait_for(pilot, lambda: len(screen.pane.data[0].series.get("loss", ())) == 5)
        assert screen.pane.data[0].following
        world.gate.touch()
        await wait_for(pilot, lambda: _last(screen, "loss") == 0.01, what="live points")
        assert len(screen.pane.data[0].series["loss"]) == 10
        await wait_for(pilot, lambda: not screen.pane.data[0].following, what="run ended")
        await pilot.press("m")
        assert isinstance(app.screen, MainScreen)
        # Finished: no progress any more.
        await wait_for(pilot, lambda: "progress" not in table.visible_columns, what="no progress")


def _shoot(snap_compare: Any, world: World, tmp_path: Path, size: Any, *, compare: bool) -> bool:
    app = _app(
        world,
        tmp_path,
        "snapshots",
        clock=lambda: FIXED_NOW,
        api_label="http://127.0.0.1:PORT",
        rng=random.Random(7),
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        main = app.main
        await wait_for(pilot, lambda: main.table.row_count == 2, what="runs")
        await wait_for(pilot, lambda: main.selected_run is not None, what="selection")
        await pilot.press(*(("space", "down", "space", "c") if compare else ("m",)))
        pane = _metrics(app).pane
        await wait_for(
            pilot,
            lambda: all(not d.following and d.series for d in pane.data),
            what="every log read",
        )
        await pilot.pause(0.2)

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_metrics_of_a_run(
    snap_compare: Any, world: World, tmp_path: Path, size: Any
) -> None:
    assert _shoot(snap_compare, world, tmp_path, size, compare=False)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_two_runs_compared(
    snap_compare: Any, world: World, tmp_path: Path, size: Any
) -> None:
    assert _shoot(snap_compare, world, tmp_path, size, compare=True)
