"""Make the README screenshots: the real app against a real engine, saved as SVG.

    python tests/tui/make_screenshots.py [--out screenshots]

Starts a throwaway engine with the demo deployment, submits a few demo runs (train, flaky,
broken), and takes: the main view with a running run and its log, the submit form with a
validation error, the offline state (engine stopped), and the main view at 80x24.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from textual.widgets import Input, Select, TextArea  # noqa: E402

from runwatch.config import Settings  # noqa: E402
from runwatch.tui.app import RunwatchApp  # noqa: E402
from runwatch.tui.screens.submit import SubmitScreen  # noqa: E402
from runwatch.tui.state import StateStore  # noqa: E402
from tests.conftest import EngineProcess, start_engine  # noqa: E402


async def _until(pilot: Any, predicate: Callable[[], object], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if predicate():
                return
        except Exception:  # widgets may not be composed yet
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(str(predicate))
        await pilot.pause(0.1)


def _app(engine: EngineProcess, tmp: Path) -> RunwatchApp:
    settings = Settings(
        profile=None,
        api_url=engine.url,
        organization_id=engine.organization_id,
        credential=dict(engine.credential),
        deployment_id=engine.demo_deployment_id,
        poll_interval=0.5,
        idle_interval=2.0,
        max_backoff=10.0,
        bell=False,
    )
    return RunwatchApp(
        settings,
        state_store=StateStore(tmp / "state"),
        export_dir=tmp,
        api_label="http://127.0.0.1:8765",
        notify_status_changes=False,
    )


async def _shoot(
    engine: EngineProcess,
    tmp: Path,
    path: Path,
    size: tuple[int, int],
    steps: Callable[[Any, RunwatchApp], Awaitable[None]],
) -> None:
    app = _app(engine, tmp)
    async with app.run_test(size=size) as pilot:
        main = app.main
        await _until(pilot, lambda: main.table.row_count >= 3)
        await _until(pilot, lambda: main.log_view.line_count >= 8)
        await steps(pilot, app)
        for widget in app.screen.query("Input, TextArea"):
            assert isinstance(widget, Input | TextArea)
            widget.cursor_blink = False
        await pilot.pause(0.3)
        app.save_screenshot(filename=path.name, path=str(path.parent))
    print(f"wrote {path}")


async def _main_view(pilot: Any, app: RunwatchApp) -> None:
    await pilot.pause(1.0)


async def _form_error(pilot: Any, app: RunwatchApp) -> None:
    await pilot.press("n")
    await _until(pilot, lambda: isinstance(app.screen, SubmitScreen))
    form = app.screen
    assert isinstance(form, SubmitScreen)
    await _until(pilot, lambda: form._versions_ok)
    select = form.query_one("#version-select", Select)
    options = [value for _, value in select._options if isinstance(value, str)]
    if options:
        select.value = options[0]
    form.query_one("#input", TextArea).text = '{"epochs": 3, "lr": 0.01'
    form.query_one("#env", TextArea).text = "MODE=demo\nWANDB_API_KEY=abc123"
    form.query_one("#retry", Input).value = "12"
    await pilot.press("ctrl+s")
    form.query_one("#retry", Input).focus()


def _offline(engine: EngineProcess) -> Callable[[Any, RunwatchApp], Awaitable[None]]:
    async def steps(pilot: Any, app: RunwatchApp) -> None:
        engine.stop()
        await _until(pilot, lambda: app.main.session.connection.outage("runs"))
        await pilot.pause(1.5)

    return steps


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="runwatch-shots-") as name:
        tmp = Path(name)
        engine = start_engine(tmp / "engine")
        try:
            demo = engine.demo_deployment_id
            versions = engine.demo_versions
            for version in ("broken", "flaky", "train"):
                engine.create_run(demo, versions[version], input_data={"epochs": 3})
            train = engine.create_run(
                demo,
                versions["train"],
                input_data={"epochs": 5, "lr": 0.001},
                environment={"MODE": "demo", "WANDB_API_KEY": "abc123secret"},
                retry_count=2,
            )["run_id"]
            engine.wait_for_status(demo, train, {"RUNNING"})
            await asyncio.sleep(4)
            await _shoot(engine, tmp, out / "main.svg", (140, 40), _main_view)
            await _shoot(engine, tmp, out / "narrow-80x24.svg", (80, 24), _main_view)
            await _shoot(engine, tmp, out / "submit-form.svg", (120, 36), _form_error)
            await _shoot(engine, tmp, out / "offline.svg", (140, 40), _offline(engine))
        finally:
            engine.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out))
