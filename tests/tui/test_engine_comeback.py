"""The dashboard on its own local engine, as `runwatch` with no profile opens it, when that
engine dies: the app starts it again and carries on where it was."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runwatch.api import APIClient
from runwatch.config import Settings
from runwatch.engine.launch import EngineHandle, ensure_engine, kill_attempts
from runwatch.tui.app import REUSED_ENGINE_GRACE
from runwatch.tui.screens.metrics import MetricsScreen
from tests.conftest import EngineProcess
from tests.tui.conftest import make_app, wait_for


def _step(message: str) -> int | None:
    found = re.fullmatch(r"epoch=1 step=(\d+) .*", message)
    return int(found.group(1)) if found else None


async def test_a_dead_local_engine_is_started_again_and_the_view_carries_on(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "engine"
    handles: list[EngineHandle] = []

    def starter() -> EngineHandle:
        handle = ensure_engine(data_dir, extra_args=["--no-demo-runs"])
        handles.append(handle)
        return handle

    settings = Settings(
        local_engine=True, poll_interval=0.1, idle_interval=0.3, max_backoff=0.5, bell=False
    )
    app = make_app(None, tmp_path, settings=settings, engine_starter=starter)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            main = app.main
            await wait_for(pilot, lambda: main.deployment_id is not None, what="demo deployment")
            first = handles[0]
            api = APIClient(credential={"auth_token": first.token}, base_url=first.url)
            versions = api.get_deployment_versions(first.organization_id, main.deployment_id)
            train = next(v for v in versions["entries"] if v["version"] == "train")
            run_id = api.create_run(
                first.organization_id,
                main.deployment_id,
                train["version_id"],
                input_data={"epochs": 1, "steps": 120, "delay": 0.05},
                retry_count=0,
            )["run_id"]
            view = main.log_view
            await wait_for(pilot, lambda: main.selected_run_id == run_id, what="the run")
            await wait_for(pilot, lambda: "epoch=1 step=10 " in " ".join(view.messages()))

            # The metrics screen open over it reads the same run, and carries on too.
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, MetricsScreen), what="metrics")
            assert isinstance(app.screen, MetricsScreen)
            metrics = app.screen.pane.data[0]

            assert first.process is not None, "the test's engine is the app's own child"
            first.process.kill()
            await wait_for(pilot, lambda: len(handles) == 2, what="a second start")
            await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live")
            assert app.api_url == handles[1].url
            assert handles[1].url in main.status_bar.describe()
            await wait_for(pilot, lambda: "training finished" in view.messages(), within=40)
            await wait_for(
                pilot, lambda: metrics.lines == view.line_count, what="the metrics' lines"
            )
            await pilot.press("escape")
            steps = [step for step in map(_step, view.messages()) if step is not None]
            assert steps == list(range(1, 121)), "every line once, in order, across the restart"
            assert main.selected_run_id == run_id
            await wait_for(
                pilot, lambda: "SUCCEEDED" in main.table.get_cell(run_id, "status").plain
            )
    finally:
        for handle in handles:
            handle.stop()
        kill_attempts(data_dir)


async def test_a_reused_engine_gets_time_to_come_back_before_the_app_starts_its_own(
    restartable_engine: EngineProcess, tmp_path: Path
) -> None:
    external = restartable_engine  # a `runwatch serve` the user started: the app reuses it
    handles: list[EngineHandle] = []

    def starter() -> EngineHandle:
        handle = ensure_engine(external.data_dir)
        handles.append(handle)
        return handle

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    settings = Settings(
        local_engine=True, poll_interval=0.1, idle_interval=0.3, max_backoff=0.5, bell=False
    )
    app = make_app(None, tmp_path, settings=settings, engine_starter=starter, clock=lambda: now[0])
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            main = app.main
            await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live")
            assert handles[0].process is None
            # The user restarts their engine: the app waits for it and takes nothing over.
            external.kill()
            await wait_for(pilot, lambda: "connection refused" in main.status_bar.describe())
            await pilot.pause(1.0)
            external.start()
            await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="back")
            assert len(handles) == 1
            # Gone for longer than the grace period: the app starts an engine of its own.
            external.kill()
            await wait_for(pilot, lambda: "connection refused" in main.status_bar.describe())
            now[0] += timedelta(seconds=REUSED_ENGINE_GRACE + 1)
            await wait_for(pilot, lambda: len(handles) == 2, what="an engine of the app's own")
            assert handles[1].process is not None
            await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live")
            assert app.api_url == handles[1].url
    finally:
        for handle in handles:
            handle.stop()
        kill_attempts(external.data_dir)
