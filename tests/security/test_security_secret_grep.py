"""A session that uses known secrets, then a grep of everything it left behind.

The secrets: the engine's token (the credential of the TUI and the CLI), a personal access
token of a profile (wrong, so the 401 paths run too) and a secret-looking run environment value
(AWS_SECRET_ACCESS_KEY). The session drives the TUI (runs table, detail, log, run-again form,
a submit, toasts after a 500 and a 401), `runwatch config`, and the CLI commands with --debug,
successful and failing. Then every captured output is grepped: CLI stdout and stderr, the TUI's
SVG screen exports and toasts, the app's debug log file, and the text and traceback of every
exception raised. Only the engine's own data dir may hold them (engine.env, the database).

`--json` output is left out on purpose: it is the API's data verbatim, for scripts.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from runwatch.api.client import AsyncAPIClient
from runwatch.api.errors import ApiError
from runwatch.cli import app_cmd
from runwatch.tui.screens.submit import SubmitScreen
from tests.conftest import EngineProcess
from tests.security.counting_proxy import ProxyState, counting_proxy
from tests.tui.conftest import make_app, settings_for, wait_for

AWS_SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzq9Xk2Vb8Lm3"
PAT = "pat-Q7mZx9Kd2LwT5vRb8NcY4hJs6GfE3aUp"
USER_ID = "1234567890123"
HANDLER = "def handler(input_data, context):\n    for i in range(5):\n        print(f'step {i}')\n"


class Captured:
    """Every piece of text the session showed or wrote, by where it came from."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def add_svg(self, where: str, svg: str) -> None:
        self.add(where + " (svg)", svg)
        # The text of the screen, spans joined: a secret split by styling still shows.
        plain = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
        self.add(where + " (text)", plain)

    def add_exception(self, where: str, exc: BaseException) -> None:
        self.add(where, f"{exc}\n{exc!r}\n{exc.args!r}")
        self.add(where + " (traceback)", "".join(traceback.format_exception(exc)))

    def leaks(self) -> list[str]:
        found = []
        for where, text in self.texts:
            for name, secret in self.secrets.items():
                # Any 10 characters in a row: a truncated or partly masked secret is a leak
                # too (masks show at most the last 4).
                for start in range(len(secret) - 9):
                    if secret[start : start + 10] in text:
                        found.append(f"{name} in {where}")
                        break
        return found


@pytest.fixture
def secrets(engine: EngineProcess) -> dict[str, str]:
    basic = base64.b64encode(f"{USER_ID}:{PAT}".encode()).decode()
    return {"engine token": engine.token, "PAT": PAT, "PAT basic": basic, "AWS": AWS_SECRET}


@pytest.fixture
def captured(secrets: dict[str, str]) -> Captured:
    return Captured(secrets)


@pytest.fixture
def debug_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app's own debug log (`runwatch --debug`), in a temp user state dir, for this test."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []  # basicConfig only configures a root logger without handlers
    path = app_cmd._setup_debug_log()
    assert path is not None and path.is_relative_to(tmp_path / "state")
    try:
        yield path
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = saved_handlers, saved_level


@pytest.fixture
def proxied(engine: EngineProcess) -> Iterator[tuple[str, ProxyState]]:
    with counting_proxy(engine.url) as pair:
        yield pair


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ABEJA_", "PLATFORM_", "RUNWATCH"))
    }
    env.update(
        RUNWATCH_CONFIG=str(tmp_path / "cfg" / "config.toml"),
        RUNWATCH_DATA_DIR=str(tmp_path / "no-engine"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        COLUMNS="200",
    )
    return env


def _cli(captured: Captured, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "runwatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    where = "runwatch " + " ".join(args)
    captured.add(where + " stdout", result.stdout)
    captured.add(where + " stderr", result.stderr)
    return result


def test_no_secret_in_any_output_of_a_session(
    engine: EngineProcess,
    proxied: tuple[str, ProxyState],
    captured: Captured,
    debug_log: Path,
    tmp_path: Path,
) -> None:
    url, proxy = proxied
    deployment_id, version_id = engine.deploy_source(HANDLER, name="secretive")
    first = engine.create_run(
        deployment_id,
        version_id,
        environment={"AWS_SECRET_ACCESS_KEY": AWS_SECRET, "MODE": "demo"},
        retry_count=0,
    )["run_id"]
    engine.wait_for_status(deployment_id, first, "SUCCEEDED")

    asyncio.run(
        _tui_and_client(engine, proxied, captured, tmp_path, (deployment_id, version_id, first))
    )

    # -- runwatch config and the CLI, with --debug, working and failing -----------------------
    env = _isolated_env(tmp_path)
    good = {**env, **engine.env, "ABEJA_DEPLOYMENT_ID": deployment_id}
    profile_env = {**env, "RUNWATCH_PROFILE": "prod"}
    config_dir = tmp_path / "cfg"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "config.toml").write_text(
        f'[profiles.prod]\napi_url = "{engine.url}"\norganization_id = "{engine.organization_id}"\n'
        f'user_id = "{USER_ID}"\npersonal_access_token = "{PAT}"\n'
    )
    os.chmod(config_dir / "config.toml", 0o600)
    assert _cli(captured, good, "config").returncode == 0
    assert _cli(captured, profile_env, "config").returncode == 0
    assert _cli(captured, good, "runs", "--debug").returncode == 0
    assert _cli(captured, good, "runs", "get", first, "--debug").returncode == 0
    assert _cli(captured, good, "logs", first, "--debug").returncode == 0
    submit = ["submit", "--version", version_id, "--env", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}"]
    assert _cli(captured, good, *submit, "--debug").returncode == 0
    assert _cli(captured, profile_env, "runs", "--debug").returncode == 2  # 401
    assert _cli(captured, {**good, "PLATFORM_AUTH_TOKEN": PAT}, "runs", "--debug").returncode == 2
    proxied_env = {**good, "ABEJA_API_URL": url, "ABEJA_SDK_MAX_RETRY_COUNT": "0"}
    proxy.fail = lambda method, path: 500
    assert _cli(captured, proxied_env, "runs", "--debug").returncode == 2
    assert _cli(captured, proxied_env, *submit, "--debug").returncode == 2
    proxy.fail = lambda method, path: None
    proxy.hold_create = 2.0
    timeout_env = {**proxied_env, "ABEJA_SDK_CONNECTION_TIMEOUT": "0.5"}
    assert _cli(captured, timeout_env, *submit, "--debug").returncode == 2
    proxy.hold_create = 0.0

    # -- the app's log file, and anything else the session wrote outside the engine -----------
    logging.getLogger("runwatch.tui").debug("flush")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert debug_log.exists()
    # Only the engine's data dir, and the config file the user wrote, may hold secrets.
    config_file = config_dir / "config.toml"
    written = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and p != config_file and not p.is_relative_to(engine.data_dir)
    ]
    assert debug_log in written
    for path in written:
        captured.add(f"file {path.relative_to(tmp_path)}", path.read_text(errors="replace"))

    # The grep can find: the token and the AWS value are in the engine's data dir.
    data = (engine.data_dir / "engine.env").read_text()
    assert engine.token in data
    assert "HTTP Request" in debug_log.read_text()  # the log did record the session
    assert any("Traceback" in text for _, text in captured.texts)  # --debug did print some
    leaks = captured.leaks()
    assert leaks == [], leaks
    size = sum(len(text) for _, text in captured.texts)
    print(f"\nsecret grep: {len(captured.texts)} outputs, {size} characters, no secret")


async def _tui_and_client(
    engine: EngineProcess,
    proxied: tuple[str, ProxyState],
    captured: Captured,
    tmp_path: Path,
    ids: tuple[str, str, str],
) -> None:
    """The TUI session and direct client calls (their exceptions); the CLI runs outside."""
    url, proxy = proxied
    deployment_id, version_id, first = ids
    # -- the TUI: table, detail, log, run again (prefilled with the secret), toasts ----------
    settings = settings_for(engine, api_url=url, deployment_id=deployment_id)
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run is not None, what="a selected run")
        await wait_for(pilot, lambda: main.log_view.line_count >= 5, what="the log")
        captured.add_svg("tui main", app.export_screenshot())
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), what="the form")
        form = app.screen
        assert isinstance(form, SubmitScreen)
        await wait_for(pilot, lambda: form._versions_ok, what="versions")
        captured.add("tui run-again env", form.query_one("#env", TextArea).text)
        captured.add_svg("tui run-again form", app.export_screenshot())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is main, what="submitted")
        await wait_for(pilot, lambda: len(main.runs_pane.poller.runs) == 2, what="the second run")
        # A 500 on every read: the status bar and the toasts say so.
        proxy.fail = lambda method, path: 500
        await wait_for(pilot, lambda: "500" in main.status_bar.describe(), what="the 500")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), what="the form")
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")  # refused with a 500: the form says why
        await pilot.pause(0.5)
        captured.add_svg("tui 500 form", app.export_screenshot())
        await pilot.press("escape")
        await pilot.pause(0.2)
        captured.add_svg("tui 500", app.export_screenshot())
        captured.add("tui status 500", main.status_bar.describe())
        proxy.fail = lambda method, path: None
        notes = [f"{n.title}: {n.message}" for n in app._notifications]
        captured.add("tui toasts", "\n".join(notes))
    created = [r for r in engine_runs(engine, deployment_id) if r["run_id"] != first]
    # Run again kept the real value behind the mask.
    assert created[0]["user_env_vars"]["AWS_SECRET_ACCESS_KEY"] == AWS_SECRET

    # A profile with a wrong personal access token: 401 in the status bar.
    wrong = settings_for(
        engine, profile="prod", credential={"user_id": USER_ID, "personal_access_token": PAT}
    )
    app = make_app(engine, tmp_path, settings=wrong)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.main.session.connection.block is not None, what="401")
        captured.add_svg("tui 401", app.export_screenshot())
        captured.add("tui status 401", app.main.status_bar.describe())
        captured.add("tui toasts 401", "\n".join(n.message for n in app._notifications))

    # -- exceptions raised by the client ------------------------------------------------------
    for credential in (
        {"auth_token": engine.token},
        {"user_id": USER_ID, "personal_access_token": PAT},
    ):
        for fail in (500, 401, None):
            proxy.fail = lambda method, path, status=fail: status  # type: ignore[misc]
            proxy.hold_create = 0.0 if fail else 2.0
            async with AsyncAPIClient(
                credential, timeout=0.5, max_retry_count=0, base_url=url
            ) as client:
                try:
                    await client.create_run(
                        engine.organization_id,
                        deployment_id,
                        version_id,
                        environment={"AWS_SECRET_ACCESS_KEY": AWS_SECRET},
                    )
                except ApiError as exc:
                    captured.add_exception(f"create_run {fail or 'timeout'} exception", exc)
                else:
                    pytest.fail("the create_run did not fail")
    proxy.fail = lambda method, path: None
    proxy.hold_create = 0.0


def engine_runs(engine: EngineProcess, deployment_id: str) -> list[dict[str, Any]]:
    path = f"/organizations/{engine.organization_id}/deployments/{deployment_id}/runs"
    with engine.client() as client:
        return list(client.get(path).json()["entries"])
