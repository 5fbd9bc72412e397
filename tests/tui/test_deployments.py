"""Deployments by name in the dashboard, and the hosted platform's objects as they come.

Names: `runwatch --deployment NAME`, the switcher's typed value and the remembered state go
through the same lookup as the CLI (`api.deployments`), against the real engine. The hosted
shapes (run fields as JSON-encoded strings, missing keys, a status nobody knows, a creator) come
from a small server, since the engine answers only in its own shape.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.widgets import Input, OptionList, Static

from runwatch.config import Settings
from runwatch.tui.screens.deployments import DeploymentsScreen
from runwatch.tui.state import StateStore, ViewState
from runwatch.tui.widgets.run_detail import RunDetail
from tests.api.api_recording_server import Recorded, RecordingServer
from tests.tui.conftest import make_app, settings_for, wait_for

QUICK = "def handler(input_data, context):\n    print('hi')\n"

ORG = "1234567890123"
CREATOR = {
    "display_name": None,
    "email": "ann@example.com",
    "id": "3333333333333",
    "is_registered": True,
    "role": "admin",
    "created_at": "2017-05-29T07:48:55Z",
    "updated_at": "2017-11-29T10:21:24Z",
}
HOSTED_DEPLOYMENTS = [
    {
        "deployment_id": "1111111111111",
        "name": "mnist-train",
        "creator": CREATOR,
        "default_environment": {},
        "runs": [],
        "services": [],
        "triggers": [],
        "created_at": "2018-06-05T08:52:02.428441Z",
        "modified_at": "2018-06-05T08:52:02.428587Z",
    },
    {"deployment_id": "2222222222222", "name": "[b]other[/b]"},
]
HOSTED_RUNS = [
    {
        # Every object field as a JSON-encoded string, and no distribution at all.
        "run_id": "run-1000000000000001",
        "deployment_id": "1111111111111",
        "status": "RUNNING",
        "model_version": "0.0.1",
        "model_version_id": "ver-1111111111111111",
        "models": {},
        "input_data": '{"image": "s3://bucket/cat.png"}',
        "output_template": '{"$datalake:1": "4444444444444"}',
        "user_env_vars": '{"MODE": "fast"}',
        "retry_count": 5,
        "created_at": "2026-01-01T00:00:00.000000Z",
        "modified_at": "2026-01-01T00:00:01.000000Z",
    },
    {
        # A status this version does not know, and most keys missing.
        "run_id": "run-1000000000000002",
        "status": "ARCHIVED",
        "created_at": "2026-01-01T00:00:02.000000Z",
    },
    {
        # Input data nested far too deeply to decode or indent.
        "run_id": "run-1000000000000003",
        "status": "FAILED",
        "input_data": "[" * 5000 + "]" * 5000,
        "created_at": "2026-01-01T00:00:03.000000Z",
        "modified_at": "2026-01-01T00:00:04.000000Z",
    },
]


def hosted(request: Recorded, index: int) -> tuple[int, dict[str, str], bytes]:
    base = f"/organizations/{ORG}/deployments"
    runs = f"{base}/1111111111111/runs"
    by_id = {run["run_id"]: run for run in HOSTED_RUNS}
    body: Any
    if request.path == base:
        body = {"entries": HOSTED_DEPLOYMENTS}
    elif request.path == runs:
        body = {"entries": HOSTED_RUNS[::-1]}
    elif request.path.startswith(runs + "/") and request.path.count("/") == 6:
        body = by_id[request.path.rsplit("/", 1)[1]]
    elif request.path.endswith("/recentlogs"):
        body = {"events": [], "next_forward_token": "f", "next_backward_token": "b"}
    elif request.path.endswith("/logs"):
        body = {"events": []}
    else:
        body = {"error": "not_found", "error_description": f"no {request.path}"}
        return 404, {"Content-Type": "application/json"}, json.dumps(body).encode()
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def detail_text(app: Any) -> str:
    detail = app.main.query_one(RunDetail)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    for part in ("#detail-head", "#detail-data"):
        console.print(detail.query_one(part, Static).content)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


async def test_hosted_objects_open_by_name_and_show_without_failing(tmp_path: Path) -> None:
    with RecordingServer(hosted) as server:
        settings = Settings(
            profile=None,
            api_url=server.url,
            organization_id=ORG,
            credential={"auth_token": "t"},
            deployment_id="mnist-train",
            poll_interval=0.1,
            idle_interval=0.3,
            max_backoff=0.5,
            bell=False,
        )
        app = make_app(None, tmp_path, settings=settings)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            main = app.main
            await wait_for(pilot, lambda: main.runs_pane.loaded, what="the runs")
            assert (main.deployment_id, main.deployment_name) == ("1111111111111", "mnist-train")
            assert "deployment mnist-train (1111111111111)" in main.status_bar.describe()
            shown: dict[str, str] = {}
            for run in HOSTED_RUNS:
                main.table.select_run(run["run_id"])
                await wait_for(
                    pilot,
                    lambda run_id=run["run_id"]: (
                        main.selected_run is not None and main.selected_run.run_id == run_id
                    ),
                    what=run["run_id"],
                )
                await pilot.pause(0.2)
                shown[run["run_id"]] = detail_text(app)
            # The switcher names the creator.
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsScreen), what="list")
            options = app.screen.query_one(OptionList)
            await wait_for(pilot, lambda: options.option_count == 2, what="the options")
            labels = [str(options.get_option_at_index(i).prompt) for i in range(2)]
            await pilot.press("escape")
            assert app.is_running
            assert not [t for t in app._notifications if t.severity == "error"]
    first, unknown, deep = (shown[run["run_id"]] for run in HOSTED_RUNS)
    assert '"image": "s3://bucket/cat.png"' in first
    assert '"$datalake:1": "4444444444444"' in first and "MODE=fast" in first
    assert re.search(r"distribution +- *\n", first)
    assert "ARCHIVED" in unknown and "(so far)" in unknown
    assert "[[[[" in deep
    assert labels[0] == "mnist-train  1111111111111  by ann@example.com  (current)"
    assert labels[1] == "[b]other[/b]  2222222222222"


async def test_an_ambiguous_name_says_which_ids(engine: Any, tmp_path: Path) -> None:
    first, _ = engine.deploy_source(QUICK, name="twin")
    second, _ = engine.deploy_source(QUICK, name="twin")
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id="twin"))
    async with app.run_test(size=(160, 36), notifications=True) as pilot:
        main = app.main
        expected = f"2 deployments are named 'twin': {first}, {second}"
        await wait_for(pilot, lambda: expected in main.status_bar.describe(), what="the error")
        assert main.deployment_id is None
        # d and a typed id get out of it.
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsScreen), what="list")
        typed = app.screen.query_one("#deployment-id", Input)
        typed.value = second
        typed.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: main.deployment_id == second, what="switched")


async def test_the_switcher_takes_a_name_and_the_state_remembers_it(
    engine: Any, tmp_path: Path
) -> None:
    mnist, _ = engine.deploy_source(QUICK, name="mnist-train")
    engine.deploy_source(QUICK, name="twin")
    engine.deploy_source(QUICK, name="twin")
    store = StateStore(tmp_path / "state")
    app = make_app(engine, tmp_path, state_store=store)
    async with app.run_test(size=(140, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.deployment_id is not None, what="a deployment")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsScreen), what="list")
        screen = app.screen
        typed = screen.query_one("#deployment-id", Input)
        typed.value = "twin"
        typed.focus()
        await pilot.press("enter")
        status = screen.query_one("#deployments-status", Static)
        await wait_for(pilot, lambda: "named 'twin'" in str(status.content), what="ambiguous")
        assert app.screen is screen
        typed.value = "mnist-train"
        await pilot.press("enter")
        await wait_for(pilot, lambda: main.deployment_id == mnist, what="switched by name")
        assert main.deployment_name == "mnist-train"
    saved = json.loads((tmp_path / "state" / "ui-local.json").read_text())
    assert (saved["deployment_id"], saved["deployment_name"]) == (mnist, "mnist-train")


async def test_a_remembered_deployment_whose_id_changed_is_found_by_name(
    engine: Any, tmp_path: Path
) -> None:
    mnist, _ = engine.deploy_source(QUICK, name="mnist-train")
    store = StateStore(tmp_path / "state")
    # As after the local engine's data dir was made anew: the old id is gone, the name is not.
    store.save(None, ViewState(deployment_id="9999999999999", deployment_name="mnist-train"))
    app = make_app(engine, tmp_path, state_store=store)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.main.deployment_id == mnist, what="by name")
