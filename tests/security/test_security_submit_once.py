"""One user action, at most one create_run: counted by a proxy in front of a real engine.

The proxy forwards every request, so a create_run whose answer is held back past the client's
timeout really creates the run: the client must say the outcome is unknown and show the runs
list, and must not send the request again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Select

from runwatch.tui.screens.submit import SubmitScreen
from tests.conftest import EngineProcess
from tests.security.counting_proxy import ProxyState, counting_proxy
from tests.tui.conftest import GATED_HANDLER, make_app, settings_for, wait_for

HOLD = 2.5  # seconds the proxy holds the create_run answer back
TIMEOUT = 0.8  # the client's timeout: shorter than HOLD


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWATCH_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("ABEJA_API_URL", "ABEJA_ORGANIZATION_ID", "PLATFORM_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxied(engine: EngineProcess) -> Iterator[tuple[str, ProxyState]]:
    with counting_proxy(engine.url) as pair:
        yield pair


@pytest.fixture
def gated(engine: EngineProcess) -> tuple[str, str]:
    return engine.deploy_source(GATED_HANDLER, name="gated")


def run_ids(engine: EngineProcess, deployment_id: str) -> list[str]:
    path = f"/organizations/{engine.organization_id}/deployments/{deployment_id}/runs"
    with engine.client() as client:
        return [run["run_id"] for run in client.get(path).json()["entries"]]


async def _open_form(pilot: Any, app: Any, version_id: str) -> SubmitScreen:
    main = app.main
    connection = main.session.connection
    await wait_for(pilot, lambda: main.deployment_id and connection.last_ok, what="live")
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), what="the form")
    form = app.screen
    assert isinstance(form, SubmitScreen)
    await wait_for(pilot, lambda: form._versions_ok, what="versions")
    form.query_one("#version-select", Select).value = version_id
    await pilot.pause()
    return form


async def test_tui_timeout_after_sending_is_outcome_unknown_and_refreshes(
    engine: EngineProcess, gated: tuple[str, str], proxied: tuple[str, ProxyState], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    url, proxy = proxied
    proxy.hold_create = HOLD
    settings = settings_for(engine, api_url=url, deployment_id=deployment_id, timeout=TIMEOUT)
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _open_form(pilot, app, version_id)
        await pilot.press("ctrl+s")
        main = app.main
        await wait_for(pilot, lambda: app.screen is main, what="the form closed")
        await wait_for(
            pilot,
            lambda: any(n.message.startswith("Outcome unknown") for n in app._notifications),
            what="the outcome-unknown toast",
        )
        # The run was created behind the timeout: the refreshed list shows it.
        pane = main.runs_pane
        await wait_for(pilot, lambda: len(pane.poller.runs) == 1, within=HOLD + 10, what="run")
        created = run_ids(engine, deployment_id)
        assert list(main.runs_pane.poller.runs) == created
        await pilot.pause(HOLD)  # let any (wrong) retry reach the proxy
    assert len(proxy.creates()) == 1
    assert len(run_ids(engine, deployment_id)) == 1


@pytest.mark.parametrize("how", ["ctrl+s twice", "enter twice on Submit", "two clicks"])
async def test_tui_double_submit_sends_one_create_run(
    engine: EngineProcess,
    gated: tuple[str, str],
    proxied: tuple[str, ProxyState],
    tmp_path: Path,
    how: str,
) -> None:
    deployment_id, version_id = gated
    url, proxy = proxied
    proxy.gate = threading.Event()  # the answer waits for the test (the client waits 10 s)
    settings = settings_for(engine, api_url=url, deployment_id=deployment_id)
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        form = await _open_form(pilot, app, version_id)
        if how == "enter twice on Submit":
            form.query_one("#submit", Button).focus()
            await pilot.pause()

        async def press() -> None:
            if how == "two clicks":
                await pilot.click("#submit")
            else:
                await pilot.press("enter" if how.startswith("enter") else "ctrl+s")

        await press()
        await press()  # at once: before the first request is even sent
        await wait_for(pilot, lambda: len(proxy.creates()) == 1, what="the create_run sent")
        await press()  # again while the first answer is awaited
        await pilot.pause(0.3)
        assert app.screen is form
        proxy.gate.set()
        main = app.main
        await wait_for(pilot, lambda: app.screen is main, what="the form closed")
        await wait_for(pilot, lambda: len(main.runs_pane.poller.runs) == 1, what="the run listed")
        # Keys pressed after the form closed go to the main screen, not to a second submit.
        await pilot.press("ctrl+s", "enter")
        await pilot.pause(0.6)
    assert len(proxy.creates()) == 1, [s.path for s in proxy.creates()]
    assert len(run_ids(engine, deployment_id)) == 1


def _cli_env(engine: EngineProcess, url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ABEJA_", "PLATFORM_", "RUNWATCH"))
    }
    env.update(
        ABEJA_API_URL=url,
        ABEJA_ORGANIZATION_ID=engine.organization_id,
        PLATFORM_AUTH_TOKEN=engine.token,
        ABEJA_SDK_CONNECTION_TIMEOUT=str(TIMEOUT),
        RUNWATCH_CONFIG=str(tmp_path / "config.toml"),
        RUNWATCH_DATA_DIR=str(tmp_path / "no-engine"),
    )
    return env


def test_cli_submit_timeout_is_outcome_unknown_and_lists_the_runs(
    engine: EngineProcess, gated: tuple[str, str], proxied: tuple[str, ProxyState], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    url, proxy = proxied
    proxy.hold_create = HOLD
    result = subprocess.run(
        [sys.executable, "-m", "runwatch", "submit", "--version", version_id],
        env=_cli_env(engine, url, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # no run id: none is known
    assert "outcome unknown" in result.stderr
    created = run_ids(engine, deployment_id)
    assert len(created) == 1
    # The runs list, fetched after the timeout, shows the run that was created anyway.
    assert f"the newest runs of deployment {deployment_id}" in result.stderr
    assert created[0] in result.stderr
    time.sleep(HOLD)
    assert len(proxy.creates()) == 1
    assert [s.method for s in proxy.seen].count("POST") == 1


async def test_tui_escape_while_submitting_closes_the_form_and_sends_nothing_again(
    engine: EngineProcess,
    gated: tuple[str, str],
    proxied: tuple[str, ProxyState],
    tmp_path: Path,
) -> None:
    deployment_id, version_id = gated
    url, proxy = proxied
    proxy.gate = threading.Event()
    settings = settings_for(engine, api_url=url, deployment_id=deployment_id)
    app = make_app(engine, tmp_path, settings=settings)
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await _open_form(pilot, app, version_id)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: len(proxy.creates()) == 1, what="the create_run sent")
            await pilot.press("escape")
            main = app.main
            await wait_for(pilot, lambda: app.screen is main, what="the form closed")
            assert any("Outcome unknown" in str(t.message) for t in app._notifications)
            proxy.gate.set()
            await pilot.pause(0.6)
    finally:
        proxy.gate.set()
    assert len(proxy.creates()) == 1
