"""A burst of log lines repaints the log pane and nothing else, and never lays the screen out.

The dashboard used to lay the whole screen out for every batch of lines (the log's virtual
size is a layout reactive) and to redraw the run detail every second, even unchanged; its CPU
cost is measured by tests/bench/bench_soak.py. Here the app's clock is frozen, so nothing but
the log has a reason to change while the lines come: any layout, or a repaint of another
widget, is work done for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widget import Widget
from textual.widgets import Footer, Static

from tests.tui.conftest import FIXED_NOW, make_app, settings_for, wait_for

# Prints a screenful and more, waits for a gate, prints a burst, then waits for a second
# gate (the run stays RUNNING while the test watches: a status change is a change).
BURST_HANDLER = """
import os, sys, time

def handler(input_data, context):
    for i in range(100):
        print(f"before {i}", flush=True)
    while not os.path.exists(input_data["gate"]):
        time.sleep(0.02)
    for i in range(3000):
        sys.stdout.write(f"burst {i}\\n")
    sys.stdout.flush()
    while not os.path.exists(input_data["done"]):
        time.sleep(0.02)
"""


def _count_refreshes(widget: Widget, monkeypatch: pytest.MonkeyPatch, seen: list[str]) -> None:
    original: Callable[..., Any] = widget.refresh

    def refresh(*args: Any, **kwargs: Any) -> Any:
        seen.append(f"{type(widget).__name__}#{widget.id}")
        return original(*args, **kwargs)

    monkeypatch.setattr(widget, "refresh", refresh)


async def test_a_burst_of_lines_repaints_only_the_log(
    engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment_id, version_id = engine.deploy_source(BURST_HANDLER, name="burst")
    gate, done = tmp_path / "gate", tmp_path / "done"
    run_id = engine.create_run(
        deployment_id, version_id, input_data={"gate": str(gate), "done": str(done)}
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    app = make_app(
        engine,
        tmp_path,
        settings=settings_for(engine, deployment_id=deployment_id),
        clock=lambda: FIXED_NOW,
    )
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            main = app.main
            view = main.log_view
            await wait_for(pilot, lambda: main.selected_run is not None, what="the detail")
            await wait_for(pilot, lambda: "before 99" in view.messages(), what="first lines")
            await wait_for(pilot, lambda: view.at_start, what="the start of the log")
            await pilot.pause()
            assert view.show_vertical_scrollbar  # already: its coming would be a layout

            layouts: list[object] = []
            main.screen_layout_refresh_signal.subscribe(main, layouts.append)
            repainted: list[str] = []
            others: list[Widget] = [main.table, main.status_bar, main.query_one(Footer)]
            others += list(main.detail_pane.query(Static))
            for widget in others:
                _count_refreshes(widget, monkeypatch, repainted)

            gate.touch()
            await wait_for(pilot, lambda: "burst 2999" in view.messages(), what="the burst")
            await pilot.pause()

            assert view.following and view.scroll_y == view.max_scroll_y
            assert layouts == [], "appending lines laid the screen out"
            assert repainted == [], f"appending lines repainted {sorted(set(repainted))}"
    finally:
        done.touch()
