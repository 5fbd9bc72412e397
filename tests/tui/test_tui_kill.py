"""The log pane while the engine is SIGKILLed and restarted, again and again (Pilot).

The pane follows a run printing a numbered sequence in bursts; the engine dies at random moments
and comes back on the same port and data dir. The pane's lines must be the handler's lines
exactly, the status bar must say "reconnecting" within two poll intervals of each kill and
"live" within two seconds of each restart. The latencies are observed, not assumed: a monitor
task samples the status bar's mode every 10 ms and the figures are printed (run with -s).
CI runs the short form; RUNWATCH_KILL_CYCLES=20 runs the long one (see tests/kill_cycles.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EngineProcess
from tests.kill_cycles import (
    KILL_TIMEOUT,
    NUMBERED_HANDLER,
    KillSchedule,
    check_numbered,
    handler_lines,
    kill_cycles,
    kill_seed,
    stop_file,
)
from tests.tui.conftest import make_app, settings_for, wait_for


@pytest.fixture
def engine(restartable_engine: EngineProcess) -> EngineProcess:
    """The suite's `engine` (and so cli_env's) here is one that restarts on its own port."""
    return restartable_engine


# The default poll interval halved (a 1 s interval only makes the test longer) and the default
# backoff cap: a refused connection is probed every half second whatever the cap.
POLL_INTERVAL = 0.5
MAX_BACKOFF = 60.0
RECONNECTING_WITHIN = 2 * POLL_INTERVAL
LIVE_WITHIN = 2.0
# Bursts small enough for the pane to hold every line (it keeps 100,000) in the long form.
SIZES = [1, 3, 40, 200]


class ModeMonitor:
    """Samples the status bar's connection mode: [(monotonic time, mode)] at each change."""

    def __init__(self, main: Any) -> None:
        self.main = main
        self.changes: list[tuple[float, str]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def mode(self) -> str:
        return self.changes[-1][1] if self.changes else ""

    async def _run(self) -> None:
        while True:
            mode = self.main.status_bar.connection.mode
            if mode != self.mode:
                self.changes.append((time.monotonic(), mode))
            await asyncio.sleep(0.01)

    def first(self, mode: str, after: float) -> float | None:
        return next((t for t, m in self.changes if m == mode and t >= after), None)

    async def wait_for(
        self, mode: str, ref: float, within: float, what: str, since: float | None = None
    ) -> float:
        """Seconds from `ref` until `mode` was first seen after `since` (default `ref`); 0 if
        it was seen before `ref` (e.g. live before engine.start() had returned); fails past
        `within`."""
        since = ref if since is None else since
        while (seen := self.first(mode, since)) is None:
            if time.monotonic() - ref > within:
                raise AssertionError(
                    f"{what}: no {mode!r} within {within:.2f}s; modes since:"
                    f" {[(round(t - ref, 3), m) for t, m in self.changes if t >= since - 1]}"
                )
            await asyncio.sleep(0.01)
        return max(0.0, seen - ref)


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.timeout(KILL_TIMEOUT)
async def test_log_pane_through_engine_sigkills_shows_every_line_once(
    engine: Any, tmp_path: Path
) -> None:
    schedule = KillSchedule(kill_seed(), kill_cycles())
    context = schedule.describe()
    deployment_id, version_id = engine.deploy_source(NUMBERED_HANDLER, name="numbered")
    gate, stop = tmp_path / "gate", stop_file(tmp_path)
    run_id = engine.create_run(
        deployment_id,
        version_id,
        input_data={"seed": schedule.seed, "stop": str(stop), "gate": str(gate), "sizes": SIZES},
        retry_count=0,
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    settings = settings_for(
        engine,
        deployment_id=deployment_id,
        poll_interval=POLL_INTERVAL,
        idle_interval=POLL_INTERVAL,
        max_backoff=MAX_BACKOFF,
    )
    app = make_app(engine, tmp_path, settings=settings)
    reconnect: list[float] = []
    live: list[float] = []
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        view = main.log_view
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="selection")
        await wait_for(
            pilot, lambda: any("starting" in m for m in view.messages()), what="first line"
        )
        monitor = ModeMonitor(main)
        monitor.start()
        try:
            await wait_for(pilot, lambda: monitor.mode == "live", what="live at first")
            gate.touch()
            for cycle in range(schedule.cycles):
                await asyncio.sleep(schedule.up_time())
                # Off the event loop: the app must keep running while the engine dies/starts.
                await asyncio.to_thread(schedule.kill, engine)
                killed = schedule.kills[-1]
                reconnect.append(
                    await monitor.wait_for(
                        "reconnecting", killed, RECONNECTING_WITHIN, f"cycle {cycle} {context}"
                    )
                )
                await asyncio.sleep(schedule.down_time())
                await asyncio.to_thread(schedule.restart, engine)
                back = schedule.restarts[-1]
                live.append(
                    await monitor.wait_for(
                        "live", back, LIVE_WITHIN, f"cycle {cycle} {context}", since=killed
                    )
                )
            await asyncio.sleep(schedule.up_time())
            stop.touch()
            await wait_for(
                pilot,
                lambda: any(m.startswith("total ") for m in view.messages()),
                within=60,
                what=f"the last line ({context})",
            )
            await wait_for(
                pilot, lambda: main.log_pane.follower is not None and main.log_pane.follower.done
            )
        finally:
            await monitor.stop()
        assert view.dropped_front == 0 and not view.dropped_tail
        lines = view.messages()
    total = check_numbered(handler_lines(lines), context)
    assert lines == engine.all_log_messages(deployment_id, run_id), context
    print(
        f"\nTUI log pane: {schedule.cycles} kill cycles, {total + 1} handler lines checked,"
        f" {context}\n  reconnecting after kill (s): max {max(reconnect):.3f}"
        f" mean {sum(reconnect) / len(reconnect):.3f} (deadline {RECONNECTING_WITHIN})"
        f"\n  live after restart (s): max {max(live):.3f} mean {sum(live) / len(live):.3f}"
        f" (deadline {LIVE_WITHIN})"
    )


async def test_live_within_two_seconds_of_a_restart_after_a_long_outage(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    # With the default max_backoff (60 s) and no quick probing of a refused connection, a few
    # seconds of outage would back the TUI off for several seconds past the restart.
    deployment_id, version_id = gated
    run_id = engine.create_run(
        deployment_id, version_id, input_data={"gate": str(tmp_path / "never")}
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    settings = settings_for(
        engine, deployment_id=deployment_id, poll_interval=POLL_INTERVAL, max_backoff=MAX_BACKOFF
    )
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="selection")
        monitor = ModeMonitor(main)
        monitor.start()
        try:
            await wait_for(pilot, lambda: monitor.mode == "live", what="live at first")
            schedule = KillSchedule(0, 1)
            await asyncio.to_thread(schedule.kill, engine)
            killed = schedule.kills[-1]
            reconnect = await monitor.wait_for(
                "reconnecting", killed, RECONNECTING_WITHIN, "after the kill"
            )
            # Long enough for an exponential backoff from 0.5 s to reach 4-8 s.
            await asyncio.sleep(6.0)
            await asyncio.to_thread(schedule.restart, engine)
            live = await monitor.wait_for(
                "live", schedule.restarts[-1], LIVE_WITHIN, "after the restart", since=killed
            )
        finally:
            await monitor.stop()
    print(f"\nafter a 6 s outage: reconnecting in {reconnect:.3f}s, live in {live:.3f}s")
