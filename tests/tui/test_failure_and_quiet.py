"""The failure at a glance in the detail pane, and quiet runs, against one real engine.

The engine runs with a frozen clock (every log line is stamped just after 2026-01-01T00:00:00Z)
and the app with a fixed clock, so "quiet 12m" and the snapshots read the same on every run.
One engine serves the module: a deployment with a run that failed with a chained traceback,
and one with two runs that printed a line and then went silent.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from runwatch.tui.app import RunwatchApp
from runwatch.tui.widgets.failure_view import FailureView
from tests.conftest import EngineProcess, start_engine
from tests.tui.conftest import FIXED_NOW, FROZEN_ENGINE_CLOCK, make_app, settings_for, wait_for

# A config that cannot be loaded, a traceback chained to it: the kind of failure a user opens
# the detail for. The message holds markup and an escape, which must show as typed.
FAILS = """
import sys

def load(path):
    raise FileNotFoundError(2, "No such file or directory", path)

def handler(data, context):
    print("epoch 1/3 loss=0.41", flush=True)
    try:
        load("/data/[bold]config[/].ini")
    except OSError as exc:
        raise RuntimeError("cannot start training: \\x1b[31mno config\\x1b[0m") from exc
"""
SILENT = """
import os, time

def handler(data, context):
    print("waiting for the data loader", flush=True)
    gate = os.path.join(os.environ["QUIET_GATES"], data["gate"])
    while not os.path.exists(gate):
        time.sleep(0.05)
"""
REASON = "RuntimeError: cannot start training: no config"


@dataclass
class World:
    engine: EngineProcess
    failed_deployment: str
    failed_run: str
    quiet_deployment: str
    quiet_runs: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("failure")
    engine = start_engine(
        tmp / "engine",
        extra_args=["--queues", "3"],
        env={"RUNWATCH_ENGINE_CLOCK": FROZEN_ENGINE_CLOCK, "QUIET_GATES": str(tmp)},
    )
    try:
        failed_deployment, version = engine.deploy_source(FAILS, name="fails")
        failed_run = engine.create_run(failed_deployment, version, retry_count=0)["run_id"]
        quiet_deployment, version = engine.deploy_source(SILENT, name="silent")
        quiet_runs = [
            engine.create_run(quiet_deployment, version, input_data={"gate": f"gate-{n}"})["run_id"]
            for n in range(2)
        ]
        engine.wait_for_status(failed_deployment, failed_run, "FAILED")
        for run_id in quiet_runs:
            engine.wait_for_status(quiet_deployment, run_id, "RUNNING")
        yield World(engine, failed_deployment, failed_run, quiet_deployment, quiet_runs)
    finally:
        for n in range(2):
            (tmp / f"gate-{n}").touch()
        engine.close()


def app_for(world: World, tmp_path: Path, deployment_id: str, **kwargs: Any) -> RunwatchApp:
    return make_app(
        world.engine,
        tmp_path,
        settings=settings_for(world.engine, deployment_id=deployment_id),
        api_label="http://127.0.0.1:PORT",
        rng=random.Random(7),
        **kwargs,
    )


def shown_text(widget: Static) -> str:
    """What a Static shows, as plain text (its content may be a Rich table)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def failure_text(app: RunwatchApp) -> str:
    view = app.main.detail_pane.failure_view
    return view.shown_text if view.has_class("-shown") else ""


async def _show_failure(pilot: Pilot[Any], app: RunwatchApp, world: World) -> None:
    main = app.main
    await wait_for(pilot, lambda: main.selected_run_id == world.failed_run, what="selection")
    await wait_for(pilot, lambda: REASON in failure_text(app), what="the failure")


async def test_the_detail_pane_shows_why_a_run_failed(world: World, tmp_path: Path) -> None:
    app = app_for(world, tmp_path, world.failed_deployment, clock=lambda: FIXED_NOW)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await _show_failure(pilot, app, world)
        text = failure_text(app)
        # The exception as typed (markup inert, the escape dropped), the cause chained in.
        cause = (
            "FileNotFoundError: [Errno 2] No such file or directory: '/data/[bold]config[/].ini'"
        )
        assert cause in text
        assert "\x1b" not in text
        view = app.main.detail_pane.failure_view
        assert isinstance(view, FailureView) and view.region.height <= 14
        # Read once: a fresher copy of the failed run does not read the log again.
        before = app.main.detail_pane.failure_of
        app.main.detail_pane.update_run(app.main.detail_pane.run)  # type: ignore[arg-type]
        assert app.main.detail_pane.failure_of == before
        assert not [t for t in app._notifications if t.title == "Internal error"]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_failure_summary_snapshot(
    snap_compare: Any, world: World, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = app_for(world, tmp_path, world.failed_deployment, clock=lambda: FIXED_NOW)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _show_failure(pilot, app, world)
        if size[0] < 120:
            # Narrow: the detail is behind `i`.
            await pilot.press("i")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_a_quiet_run_is_shown_and_notified_once(world: World, tmp_path: Path) -> None:
    # 12 minutes after the lines were printed, then 20 minutes after.
    now = [FIXED_NOW + timedelta(minutes=12)]
    app = app_for(world, tmp_path, world.quiet_deployment, clock=lambda: now[0])
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        main = app.main
        selected, other = world.quiet_runs[1], world.quiet_runs[0]  # newest first
        await wait_for(pilot, lambda: main.selected_run_id == selected, what="selection")
        await wait_for(
            pilot, lambda: "waiting" in " ".join(main.log_view.messages()), what="log lines"
        )
        quiet_toasts = lambda: [t for t in app._notifications if t.title == "Quiet run"]  # noqa: E731
        # The selected run's last line comes from the log pane's follower, the other's from
        # the light check (its newest log page).
        await wait_for(pilot, lambda: main.quiet_watch.labels.keys() == {selected, other})
        assert main.quiet_watch.labels[selected] == "quiet 12m"
        assert "RUNNING  quiet 12m" in shown_text(
            main.detail_pane.query_one("#detail-head", Static)
        )
        cells = {run_id: str(main.table.get_cell(run_id, "status")) for run_id in (selected, other)}
        assert cells == {selected: "▶ quiet 12m", other: "▶ quiet 12m"}
        assert sorted(str(t.message) for t in quiet_toasts()) == sorted(
            f"{run_id} has printed nothing for 12m" for run_id in (selected, other)
        )
        now[0] = FIXED_NOW + timedelta(minutes=20)
        main._tick()
        main._tick()
        await pilot.pause()
        assert main.table.get_cell(other, "status").plain == "▶ quiet 20m"
        # Once per quiet spell: no second toast however long it lasts.
        assert len(quiet_toasts()) == 2, [str(t.message) for t in quiet_toasts()]
