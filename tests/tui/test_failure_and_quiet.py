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
from tests.conftest import EngineProcess, start_engine
from tests.tui.conftest import FIXED_NOW, FROZEN_ENGINE_CLOCK, make_app, settings_for, wait_for

# A config that cannot be loaded, a traceback chained to it: the kind of failure a user opens
# the detail for. The message holds markup and an escape, which must show as typed.
TRACEBACK = """Traceback (most recent call last):
  File "/app/train.py", line 12, in load
    with open(path) as handle:
         ^^^^^^^^^^
FileNotFoundError: [Errno 2] No such file or directory: '/data/[bold]config[/].ini'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/train.py", line 30, in handler
    config = load("/data/[bold]config[/].ini")
  File "/app/train.py", line 15, in load
    raise RuntimeError("cannot start training: no config") from exc
RuntimeError: cannot start training: \x1b[31mno config\x1b[0m"""
# Printed as Python prints a chained traceback, with paths that do not depend on where the
# engine keeps the code, so that the snapshots are the same on every run.
FAILS = f"""
import sys

def handler(data, context):
    print("epoch 1/3 loss=0.41", flush=True)
    sys.stderr.write({TRACEBACK!r} + "\\n")
    sys.exit(1)
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
        env={"RUNWATCH_ENGINE_CLOCK": FROZEN_ENGINE_CLOCK},
    )
    try:
        failed_deployment, version = engine.deploy_source(FAILS, name="fails")
        failed_run = engine.create_run(failed_deployment, version, retry_count=0)["run_id"]
        quiet_deployment, version = engine.deploy_source(SILENT, name="silent")
        quiet_runs = [
            # A run sees only its own environment, not the engine's: the gates' directory
            # goes in the run's.
            engine.create_run(
                quiet_deployment,
                version,
                input_data={"gate": f"gate-{n}"},
                environment={"QUIET_GATES": str(tmp)},
            )["run_id"]
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


def _check_the_failure_shown(app: RunwatchApp) -> None:
    text = failure_text(app)
    # The exception as typed (markup inert, the escape dropped), the cause chained in.
    assert "FileNotFoundError: [Errno 2] No such file or directory: '/data/[bold]" in text
    assert "\x1b" not in text
    detail = app.main.detail_pane
    assert detail.failure_view.region.height <= 1 + 4 + 12
    # Read once: a fresher copy of the failed run does not read the log again (it would say
    # "reading the end of its log…" at once).
    assert detail.run is not None and detail.failure_of == detail.run.run_id
    detail.update_run(detail.run.__class__.from_wire({**detail.run.raw, "modified_at": None}))
    assert REASON in failure_text(app)
    assert not [t for t in app._notifications if t.title == "Internal error"]


@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
def test_the_detail_pane_shows_why_a_run_failed(
    snap_compare: Any, world: World, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = app_for(world, tmp_path, world.failed_deployment, clock=lambda: FIXED_NOW)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _show_failure(pilot, app, world)
        if size[0] < 120:
            # Narrow: the detail is behind `i`.
            await pilot.press("i")
        else:
            _check_the_failure_shown(app)
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

        quiet = main.quiet_watch.quiet

        def both_heard_of() -> bool:
            main._tick()  # the screen's once-a-second tick, without waiting for it
            return all(quiet.last_line(run_id) is not None for run_id in (selected, other))

        # The selected run's last line comes from the log pane's follower, the other's from
        # the light check (its newest log page).
        await wait_for(pilot, both_heard_of, what="the times of both runs' last lines")
        main._tick()
        assert main.quiet_watch.labels.keys() == {selected, other}
        assert main.quiet_watch.labels[selected] == "quiet 12m"
        assert "RUNNING  quiet 12m" in shown_text(
            main.detail_pane.query_one("#detail-head", Static)
        )

        def cells() -> list[str]:
            return [str(main.table.get_cell(run_id, "status")) for run_id in (selected, other)]

        # The table takes the labels from the pane's message.
        await wait_for(pilot, lambda: cells() == ["▶ quiet 12m"] * 2, what="the table")
        assert sorted(str(t.message) for t in quiet_toasts()) == sorted(
            f"{run_id} has printed nothing for 12m" for run_id in (selected, other)
        )
        now[0] = FIXED_NOW + timedelta(minutes=20)
        main._tick()
        await wait_for(pilot, lambda: cells() == ["▶ quiet 20m"] * 2, what="20m")
        main._tick()
        await pilot.pause()
        # Once per quiet spell: no second toast however long it lasts.
        assert len(quiet_toasts()) == 2, [str(t.message) for t in quiet_toasts()]
