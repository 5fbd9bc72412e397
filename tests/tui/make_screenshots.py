"""Make the README screenshots: the real app against a real engine, saved as SVG.

    python tests/tui/make_screenshots.py [--out screenshots]

Starts a throwaway engine with the demo deployment, submits a few demo runs (train, flaky,
broken), and takes: the main view with a running run and its log, the submit form with a
validation error, the offline state (engine stopped), the main view at 80x24, and the metrics
view of a training run and two runs compared (a training deployment of its own).
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


def _app(engine: EngineProcess, tmp: Path, deployment_id: str | None = None) -> RunwatchApp:
    settings = Settings(
        profile=None,
        api_url=engine.url,
        organization_id=engine.organization_id,
        credential=dict(engine.credential),
        deployment_id=deployment_id or engine.demo_deployment_id,
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


# A training script's prints: a dict per logging step, a key=value line per evaluation.
TRAINING = """
import json, math, random

def handler(input_data, context):
    lr = float(input_data["lr"])
    rng = random.Random(int(input_data["seed"]))
    loss = 0.0
    for step in range(1, 3001):
        trend = 0.25 + 2.2 * math.exp(-step * lr * 0.9)
        loss = trend * (1 + rng.gauss(0, 0.04)) + (0.7 if step == 1800 else 0.0)
        print(json.dumps({"step": step, "loss": round(loss, 4),
                          "learning_rate": round(lr * (1 - step / 3000), 7)}))
        if step % 100 == 0:
            acc = 0.97 - 0.85 * math.exp(-step * lr * 1.5) + rng.gauss(0, 0.004)
            print(f"eval step={step} eval_loss={trend * 1.1 + 0.02:.4f} eval_accuracy={acc:.4f}")
    return {"final_loss": loss}
"""


async def _metrics_shots(engine: EngineProcess, tmp: Path, out: Path) -> None:
    """The metrics of a finished run (`m`) and two runs compared (`c`)."""
    deployment_id, version_id = engine.deploy_source(TRAINING, name="training")
    runs = [
        engine.create_run(deployment_id, version_id, input_data={"lr": lr, "seed": seed})
        for lr, seed in ((0.002, 1), (0.0035, 2))
    ]
    for run in runs:
        engine.wait_for_status(deployment_id, run["run_id"], {"SUCCEEDED"}, timeout=120)
    await _metrics_shot(engine, tmp, out / "metrics.svg", deployment_id, ("m",))
    await _metrics_shot(
        engine, tmp, out / "compare.svg", deployment_id, ("space", "down", "space", "c")
    )


async def _metrics_shot(
    engine: EngineProcess, tmp: Path, path: Path, deployment_id: str, keys: tuple[str, ...]
) -> None:
    from runwatch.tui.screens.metrics import MetricsScreen

    app = _app(engine, tmp, deployment_id)
    async with app.run_test(size=(140, 40)) as pilot:
        main = app.main
        await _until(pilot, lambda: main.table.row_count == 2)
        await _until(pilot, lambda: main.selected_run is not None)
        await pilot.press(*keys)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        await _until(pilot, lambda: all(not d.following for d in screen.pane.data))
        if len(keys) == 1:
            await pilot.press("down", "down", "space", "up", "up")  # loss and eval_loss
        await pilot.pause(0.5)
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
            await _metrics_shots(engine, tmp, out)
            await _shoot(engine, tmp, out / "offline.svg", (140, 40), _offline(engine))
        finally:
            engine.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out))
