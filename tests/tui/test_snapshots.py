"""Snapshots of the real app against a real engine: main view, form with an error, offline.

The engine runs with a frozen clock and sequential ids and the app with a fixed clock, so
run ids, times and durations are the same on every run.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from runwatch.tui.app import RunwatchApp
from runwatch.tui.screens.submit import SubmitScreen
from tests.tui.conftest import FIXED_NOW, GATED_HANDLER, make_app, settings_for, wait_for

SIZE = (120, 36)


def snapshot_app(engine: Any, tmp_path: Path, deployment_id: str, **settings: Any) -> RunwatchApp:
    return make_app(
        engine,
        tmp_path,
        settings=settings_for(engine, deployment_id=deployment_id, **settings),
        clock=lambda: FIXED_NOW,
        api_label="http://127.0.0.1:PORT",
        rng=random.Random(7),
    )


def no_blink(app: RunwatchApp) -> None:
    for widget in app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False


def seed_runs(engine: Any, tmp_path: Path) -> tuple[str, str, str]:
    deployment_id, version_id = engine.deploy_source(GATED_HANDLER, name="snapshots")
    done = engine.create_run(deployment_id, version_id, input_data={"before": 3})["run_id"]
    engine.wait_for_status(deployment_id, done, {"SUCCEEDED"})
    running = engine.create_run(
        deployment_id,
        version_id,
        input_data={"gate": str(tmp_path / "never"), "before": 6},
        environment={"MODE": "demo", "API_TOKEN": "not-for-your-eyes"},
        retry_count=2,
    )["run_id"]
    engine.wait_for_status(deployment_id, running, {"RUNNING"})
    return deployment_id, version_id, running


async def _main_view_ready(pilot: Pilot[Any], running: str) -> None:
    app: Any = pilot.app
    main = app.main
    await wait_for(pilot, lambda: main.table.row_count == 2, what="two runs")
    await wait_for(pilot, lambda: main.selected_run_id == running, what="selection")
    await wait_for(pilot, lambda: "before 5" in main.log_view.messages(), what="log lines")
    await wait_for(pilot, lambda: main.selected_run is not None, what="detail")
    await pilot.pause(0.3)


def test_main_view(snap_compare: Any, frozen_engine: Any, tmp_path: Path) -> None:
    deployment_id, _, running = seed_runs(frozen_engine, tmp_path)
    app = snapshot_app(frozen_engine, tmp_path, deployment_id)

    async def ready(pilot: Pilot[Any]) -> None:
        await _main_view_ready(pilot, running)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_submit_form_with_validation_error(
    snap_compare: Any, frozen_engine: Any, tmp_path: Path
) -> None:
    deployment_id, version_id, running = seed_runs(frozen_engine, tmp_path)
    app = snapshot_app(frozen_engine, tmp_path, deployment_id)

    async def ready(pilot: Pilot[Any]) -> None:
        await _main_view_ready(pilot, running)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), what="form")
        form = app.screen
        assert isinstance(form, SubmitScreen)
        await wait_for(pilot, lambda: form._versions_ok, what="versions")
        form.query_one("#version-select", Select).value = version_id
        form.query_one("#input", TextArea).text = '{"epochs": 3'
        form.query_one("#env", TextArea).text = "MODE=demo"
        form.query_one("#retry", Input).value = "12"
        await pilot.press("ctrl+s")
        form.query_one("#retry", Input).focus()
        no_blink(app)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_offline_state(snap_compare: Any, frozen_engine: Any, tmp_path: Path) -> None:
    deployment_id, _, running = seed_runs(frozen_engine, tmp_path)
    # Backoff capped below a second so the countdown reads the same whenever it is taken.
    app = snapshot_app(frozen_engine, tmp_path, deployment_id, max_backoff=0.9)

    async def ready(pilot: Pilot[Any]) -> None:
        await _main_view_ready(pilot, running)
        frozen_engine.stop()
        main = app.main
        await wait_for(
            pilot, lambda: "reconnecting" in main.status_bar.describe(), what="reconnecting"
        )
        await wait_for(
            pilot, lambda: main.session.connection.outage("runs"), what="runs poll failed"
        )
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
