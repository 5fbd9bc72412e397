"""Read-only, run again, auth failure, remembered state, outcome unknown, deployment switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import Input, Select, TextArea

from runwatch.api.errors import OutcomeUnknown
from runwatch.config import ApiSource
from runwatch.tui.screens.deployments import DeploymentsScreen
from runwatch.tui.screens.submit import SubmitResult, SubmitScreen
from runwatch.tui.state import StateStore, ViewState
from tests.tui.conftest import make_app, settings_for, wait_for


async def test_read_only_hides_and_refuses_submission(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    engine.create_run(deployment_id, version_id, input_data={})
    settings = settings_for(engine, deployment_id=deployment_id, read_only=True)
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run is not None, what="a selected run")
        shown = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert "new_run" not in shown and "run_again" not in shown
        await pilot.press("n")
        await pilot.press("R")
        await pilot.pause()
        assert app.screen is main
        main.action_new_run()  # the palette path is refused too
        await pilot.pause()
        assert app.screen is main
        assert "READ-ONLY" in main.status_bar.describe()


async def test_run_again_prefills_the_form(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    engine.create_run(
        deployment_id,
        version_id,
        input_data={"before": 1},
        environment={"MODE": "x"},
        retry_count=3,
        distribution=1,
    )
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run is not None, what="selection")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), what="form")
        form = app.screen
        assert isinstance(form, SubmitScreen)
        await wait_for(pilot, lambda: form._versions_ok, what="versions")
        assert form.query_one("#version-select", Select).value == version_id
        assert form.query_one("#retry", Input).value == "3"
        assert form.query_one("#distribution", Input).value == "1"
        assert form.query_one("#env", TextArea).text == "MODE=x"
        assert '"before": 1' in form.query_one("#input", TextArea).text
        assert all(reason == "" for reason in form.reasons().values())


async def test_unauthorized_stops_polling_and_says_why(engine: Any, tmp_path: Path) -> None:
    prod = ApiSource("profile", "prod")
    settings = settings_for(
        engine, profile="prod", api_source=prod, credential={"auth_token": "wrong"}
    )
    fixed = settings_for(engine, profile="prod", api_source=prod)
    app = make_app(engine, tmp_path, settings=settings, settings_loader=lambda: fixed)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.session.connection.block is not None, what="blocked")
        assert "401 Unauthorized: check the token of profile prod" in main.status_bar.describe()
        assert all(schedule.paused for schedule in main.session.schedules.values())
        # The user fixes the token in the config and presses ctrl+r: polling starts again.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live")
        assert main.deployment_id == engine.demo_deployment_id


async def test_deployment_and_view_are_remembered_per_profile(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, _ = gated
    store = StateStore(tmp_path / "state")
    app = make_app(engine, tmp_path, state_store=store)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.deployment_id is not None, what="deployment")
        assert main.deployment_id == engine.demo_deployment_id  # "demo" by default
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsScreen), what="list")
        app.screen.query_one("#deployment-id", Input).value = deployment_id
        app.screen.query_one("#deployment-id", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: main.deployment_id == deployment_id, what="switched")
        main.log_view.focus()
        await pilot.press("t", "o")
    state = store.load(None)
    assert state.deployment_id == deployment_id
    assert state.show_timestamps is False
    assert state.scan_forward is True
    assert store.load("other") == ViewState()
    app = make_app(engine, tmp_path, state_store=store)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.main.deployment_id == deployment_id, what="restored")
        assert app.main.log_view.show_timestamps is False


class _FakeClient:
    def __init__(self) -> None:
        self.calls = 0

    async def get_deployment_versions(self, organization_id: str, deployment_id: str) -> Any:
        return {"entries": [{"version": "1.0", "version_id": "ver-1"}]}

    async def create_run(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise OutcomeUnknown("POST …: ReadTimeout before an answer came back")


async def test_outcome_unknown_is_reported_not_retried() -> None:
    client = _FakeClient()
    results: list[SubmitResult | None] = []

    class FormApp(App[None]):
        def on_mount(self) -> None:
            screen = SubmitScreen(client, "org", "dep")  # type: ignore[arg-type]
            self.push_screen(screen, results.append)

    app = FormApp()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        form = app.screen
        assert isinstance(form, SubmitScreen)
        await wait_for(pilot, lambda: form._versions_ok, what="versions")
        form.query_one("#version-select", Select).value = "ver-1"
        await pilot.pause()
        await pilot.press("ctrl+s", "ctrl+s")
        await wait_for(pilot, lambda: results, what="dismissed")
    assert client.calls == 1
    assert results == [SubmitResult(None)]


async def test_export_writes_the_whole_log(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={"before": 2300})["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.log_view.line_count >= 1000, what="log")
        main.log_view.focus()
        await pilot.press("x")
        target = tmp_path / f"{run_id}.log"
        await wait_for(pilot, lambda: target.exists() and not main.log_view.activity, what="file")
    lines = target.read_text().splitlines()
    numbered = [line.split(" ", 1)[1] for line in lines if " before " in line]
    assert numbered == [f"before {i}" for i in range(2300)]


async def test_a_burst_of_status_changes_is_one_toast_with_a_line_per_run(
    engine: Any, tmp_path: Path
) -> None:
    from runwatch.api.models import Run

    app = make_app(engine, tmp_path, notify_status_changes=True)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.runs_pane.loaded, what="first runs poll")
        moves = [
            (Run.from_wire({"run_id": "run-a", "status": "RUNNING"}), "PENDING"),
            (Run.from_wire({"run_id": "run-b", "status": "FAILED\x1b[2J"}), "RUNNING"),
        ]
        main.runs_pane.announce(moves)
        await pilot.pause()
        toast = list(app._notifications)[-1]
        assert toast.message == "run-a: PENDING → RUNNING\nrun-b: RUNNING → FAILED[2J"
        assert toast.severity == "information"


@pytest.mark.long
async def test_a_terminal_squeezed_to_almost_nothing_crashes_no_screen(
    engine: Any, tmp_path: Path
) -> None:
    """Dragging a pane down to a few cells and back, with each screen open (the deployment
    list could not lay out at width 0 and took the app down)."""
    app = make_app(engine, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id is not None or main.runs_pane.loaded)
        for opener in ("d", "n", "question_mark", "ctrl+p", "l"):
            await pilot.press(opener)
            await pilot.pause(0.2)
            for size in ((1, 1), (3, 2), (10, 5), (120, 36)):
                await pilot.resize_terminal(*size)
                await pilot.pause(0.1)
            assert app.is_running and app.return_code is None, opener
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is main, what=f"closing {opener}")


async def test_y_copies_the_selected_run_id(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={})["run_id"]
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="selection")
        await pilot.press("y")
        assert app.clipboard == run_id
        assert any(run_id in str(toast.message) for toast in app._notifications)
