"""Reading a run's log like lnav, against the real engine: the filter while following, levels,
jumps to errors, the JSON view, marks, goto; and snapshots of the filter (with the level
colours) and the JSON view at 80x24 and 160x50.

One engine (frozen clock, sequential ids) serves the module; its runs are made up front in a
fixed order so ids and times are the same whichever tests run. The speed of all this is
measured by tests/bench/bench_log_reading.py, not here.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from runwatch.follow.log_levels import Level
from runwatch.tui.app import RunwatchApp
from runwatch.tui.widgets.log_goto import GotoError, parse_goto
from runwatch.tui.widgets.log_view import LogView
from tests.conftest import EngineProcess, start_engine
from tests.tui.conftest import FIXED_NOW, FROZEN_ENGINE_CLOCK, make_app, settings_for, wait_for

# Prints the lines it is given; with a gate, waits for it, then prints the lines after it.
HANDLER = """
import os, time

def handler(input_data, context):
    for line in input_data["lines"]:
        print(line, flush=True)
    gate = input_data.get("gate")
    if gate:
        gate = os.path.join(os.environ["LOG_GATES"], gate)
        while not os.path.exists(gate):
            time.sleep(0.02)
        for line in input_data["after"]:
            print(line, flush=True)
    return {"ok": True}
"""

TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "train.py", line 12, in <module>',
    "    main()",
    "ValueError: bad batch",
]
MIXED = [
    "INFO starting training",
    "\x1b[32mINFO\x1b[0m epoch 1 \x1b[1;31mloss\x1b[0m=0.93",
    "DEBUG batch 1 loaded",
    "step=1 loss=0.5",
    "2026-01-01 00:00:00,001 WARNING loss is rising",
    "step=2 loss=0.7",
    *TRACEBACK,
    "step=3 loss=0.4",
    "W0101 00:00:00.000123 77 io.cc:12] slow disk",
    "ERROR disk almost full",
    json.dumps({"level": "info", "msg": "checkpoint saved", "step": 10, "path": "/ckpt/10.pt"}),
    json.dumps({"level": "error", "msg": "upload failed", "retry": 3, "ok": False}),
    "step=4 loss=0.3",
]
LIVE_INPUT = {
    "lines": ["tick 0", "match 0", "tick 1"],
    "gate": "gate-live",
    "after": [f"{'match' if i % 2 else 'other'} {i}" for i in range(1, 7)],
}
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 50), id="160x50")]


@dataclass
class World:
    engine: EngineProcess
    gates: Path
    deployment_id: str
    version_id: str
    live: tuple[str, str, str]  # (deployment, version, run) of a live run waiting on its gate,
    # in a deployment of its own: the snapshots' runs table stays the same
    mixed: str  # a finished run printing MIXED
    long: str  # a finished run of 2,500 numbered lines (a traceback after line 100)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("log-reading")
    engine = start_engine(
        tmp / "engine",
        extra_args=["--queues", "3"],
        env={"RUNWATCH_ENGINE_CLOCK": FROZEN_ENGINE_CLOCK},
    )
    try:
        deployment_id, version_id = engine.deploy_source(HANDLER, name="reading")
        live_deployment, live_version = engine.deploy_source(HANDLER, name="live")
        # One after the other, so that the frozen clock's counter gives the snapshots' run
        # the same times on every run; the live one last, waiting on its gate.
        runs = []
        numbered = [f"line {i}" for i in range(1, 2501)]
        for lines in (MIXED, [*numbered[:100], *TRACEBACK, *numbered[100:]]):
            run = engine.create_run(deployment_id, version_id, input_data={"lines": lines})
            runs.append(str(run["run_id"]))
            engine.wait_for_status(deployment_id, runs[-1], {"SUCCEEDED"})
        # A run sees only its own environment (the engine's is not passed on): the gates'
        # directory goes in the run's.
        live_run = engine.create_run(
            live_deployment,
            live_version,
            input_data=LIVE_INPUT,
            environment={"LOG_GATES": str(tmp)},
        )
        live = (live_deployment, live_version, str(live_run["run_id"]))
        yield World(engine, tmp, deployment_id, version_id, live, *runs)
    finally:
        engine.close()


def _app(world: World, tmp_path: Path, deployment_id: str = "", **kwargs: Any) -> RunwatchApp:
    return make_app(
        world.engine,
        tmp_path,
        settings=settings_for(world.engine, deployment_id=deployment_id or world.deployment_id),
        clock=lambda: FIXED_NOW,
        api_label="http://127.0.0.1:PORT",
        rng=random.Random(7),
        **kwargs,
    )


async def _select(
    pilot: Pilot[Any], app: RunwatchApp, run_id: str, last: str, rows: int = 2
) -> LogView:
    main = app.main
    await wait_for(pilot, lambda: main.table.row_count == rows, what="runs")
    table = main.table
    await wait_for(pilot, lambda: main.selected_run_id is not None, what="a selection")
    for _ in range(table.row_count):
        if main.selected_run_id == run_id:
            break
        await pilot.press("down")
    view = main.log_view
    await wait_for(pilot, lambda: last in view.messages(), what="the log")
    view.focus()
    return view


def _cursor_text(view: LogView) -> str:
    assert view.cursor is not None
    return view.lines[view.cursor - view.model.base][1]


async def test_filter_keeps_following_a_live_run(world: World, tmp_path: Path) -> None:
    deployment_id, _, run_id = world.live
    world.engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    app = _app(world, tmp_path, deployment_id)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        view = await _select(pilot, app, run_id, "tick 1", rows=1)
        await pilot.press("ampersand", *"match", "enter")
        assert view.shown_messages() == ["match 0"]
        assert "& 'match' 1 match" in str(view.border_subtitle)
        (world.gates / str(LIVE_INPUT["gate"])).touch()
        want = ["match 0", "match 1", "match 3", "match 5"]
        await wait_for(pilot, lambda: view.shown_messages() == want, what="new matches")
        assert view.following and "4 matches" in str(view.border_subtitle)
        # Inverted, with a line of context after each kept line.
        await pilot.press("ampersand", "ctrl+u", *"!match -A 1", "enter")
        shown = view.shown_messages()
        assert shown[1:4] == ["tick 0", "match 0", "tick 1"] and "other 2" in shown
        await pilot.press("ampersand", "ctrl+u", *"/[/", "enter")  # a broken regex: one line
        assert view.line_filter is not None and view.line_filter.invert  # the last one kept
        await pilot.press("escape")
        assert view.line_filter is None and "other 6" in view.shown_messages()


async def test_levels_jumps_json_view_and_goto(world: World, tmp_path: Path) -> None:
    app = _app(world, tmp_path)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        view = await _select(pilot, app, world.mixed, "step=4 loss=0.3")
        levels = {
            text: level for (_, text), level in zip(view.lines, view.model.levels, strict=True)
        }
        assert levels["WARNING loss is rising".join(["2026-01-01 00:00:00,001 ", ""])].level == (
            Level.WARNING
        )
        assert levels["INFO epoch 1 loss=0.93"].level == Level.INFO  # read as shown (no SGR)
        assert view.model.styles  # and its colours kept to paint
        # `e` while following: the newest error, then older ones; a traceback counts once.
        await pilot.press("e")
        assert "upload failed" in _cursor_text(view) and not view.following
        await pilot.press("E")
        assert _cursor_text(view) == "ERROR disk almost full"
        await pilot.press("E")
        assert _cursor_text(view) == TRACEBACK[0]
        await pilot.press("e")
        assert _cursor_text(view) == "ERROR disk almost full"
        await pilot.press("left_square_bracket")
        assert "slow disk" in _cursor_text(view)
        # Errors only: the traceback is one block, its lines all shown.
        await pilot.press("L", "L")
        assert view.min_level == Level.ERROR
        assert view.shown_messages()[:4] == TRACEBACK
        assert view.filter_hits == 6 and "errors 6 matches" in str(view.border_subtitle)
        await pilot.press("L")
        assert view.min_level is None
        # The JSON view: the message on the first row, then a field a row.
        await pilot.press("f", "J")
        await pilot.pause()
        rows = [view.render_line(y).text.rstrip() for y in range(view.size.height)]
        assert any(row.endswith("upload failed") for row in rows)
        assert any(row.endswith("retry: 3") for row in rows)
        assert any(row.endswith("ok: false") for row in rows)
        await pilot.press("J")
        # `:` goes to a line number (the engine's own first line is line 1).
        await pilot.press("colon", *"4", "enter")
        await wait_for(pilot, lambda: view.cursor is not None, what="goto")
        assert _cursor_text(view) == MIXED[2]
        await pilot.press("colon", *"99:00", "enter")  # not a time: a toast, nothing moves
        assert _cursor_text(view) == MIXED[2]
        # A mark: `'` comes back to it from the bottom.
        await pilot.press("M", "f")
        assert view.following
        await pilot.press("apostrophe")
        assert _cursor_text(view) == MIXED[2] and view.is_marked(view.cursor or 0)


async def test_marks_and_jumps_reach_beyond_the_bounded_window(
    world: World, tmp_path: Path
) -> None:
    app = _app(world, tmp_path, max_log_lines=1500)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        view = await _select(pilot, app, world.long, "line 2500")
        assert not view.at_start  # the newest page only
        # `e` pages back past what the window can hold, to the traceback near the start.
        await pilot.press("e")
        await wait_for(pilot, lambda: view.seeking is None and view.cursor is not None, what="e")
        assert _cursor_text(view) == TRACEBACK[0] and view.dropped_tail
        await pilot.press("f")  # following again loads the newest page again
        await wait_for(pilot, lambda: "line 2500" in view.messages(), what="the newest lines")
        await pilot.press("M")  # the newest line
        marked = _cursor_text(view)
        # The first line: older pages load; the newest lines leave to make room.
        await pilot.press("g")
        await wait_for(pilot, lambda: view.seeking is None and view.at_start, what="the start")
        assert view.dropped_tail and marked not in view.messages()
        assert len(view.model.codes) == len(view.model.levels) == view.line_count
        assert "starting" in _cursor_text(view)  # the engine's first line
        # The mark: the newest page is loaded again and the line found there.
        await pilot.press("apostrophe")
        await wait_for(
            pilot, lambda: view.cursor is not None and _cursor_text(view) == marked, what="the mark"
        )
        # A line number before what is loaded: paged back to.
        await pilot.press("colon", *"3", "enter")
        await wait_for(
            pilot,
            lambda: (
                view.seeking is None and view.cursor is not None and _cursor_text(view) == "line 2"
            ),
            what="line 3",
        )


def test_goto_reads_line_numbers_and_utc_times() -> None:
    day = date(2026, 12, 1)
    assert parse_goto("1,200", day) == 1200
    assert parse_goto(":12:30", day).isoformat() == "2026-12-01T12:30:00+00:00"  # type: ignore[union-attr]
    assert parse_goto("2026-12-02 01:02:03Z", day).isoformat() == "2026-12-02T01:02:03+00:00"  # type: ignore[union-attr]
    for bad in ("", "0", "25:00", "yesterday"):
        with pytest.raises(GotoError):
            parse_goto(bad, day)


# -- snapshots --------------------------------------------------------------------------


def _shoot(snap_compare: Any, world: World, tmp_path: Path, size: Any, keys: list[str]) -> bool:
    app = _app(world, tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        view = await _select(pilot, app, world.mixed, "step=4 loss=0.3")
        await pilot.press(*keys)
        await pilot.pause(0.3)
        assert view.size.width

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_filter_with_context(
    snap_compare: Any, world: World, tmp_path: Path, size: Any
) -> None:
    # The lines kept hold every level: the glyphs and colours of each are in this one too
    # (a snapshot of its own cost two more app starts).
    assert _shoot(snap_compare, world, tmp_path, size, ["ampersand", *"loss -C 1", "enter"])


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_json_view(snap_compare: Any, world: World, tmp_path: Path, size: Any) -> None:
    assert _shoot(snap_compare, world, tmp_path, size, ["ampersand", *"msg", "enter", "J"])
