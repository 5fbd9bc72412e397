"""Pilot tests against a real engine: what issue 5 lists under "How it will be checked"."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Input, Select, Static, TextArea

from runwatch.tui.panes.log_pane import PAGES_PER_BATCH
from runwatch.tui.screens.submit import SubmitScreen
from tests.tui.conftest import make_app, settings_for, wait_for


def _status(app: Any, run_id: str) -> str:
    return app.main.table.get_cell(run_id, "status").plain


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> list[int]:
    calls = [0]
    method = getattr(owner, name)

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await method(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


async def test_table_picks_up_new_run_and_status_change(
    engine: Any, gated: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runwatch.follow.run_watch import RunWatcher
    from runwatch.follow.runs import RunsPoller

    fetches = _count_calls(monkeypatch, RunWatcher, "fetch")
    polls = _count_calls(monkeypatch, RunsPoller, "poll")
    deployment_id, version_id = gated
    ahead = [0.0]  # how far the app's clock runs ahead of the engine's, in seconds

    def clock() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=ahead[0])

    settings = settings_for(engine, deployment_id=deployment_id)
    app = make_app(engine, tmp_path, settings=settings, clock=clock)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.runs_pane.loaded, what="first runs poll")
        assert main.table.row_count == 0
        gate = tmp_path / "gate"
        run_id = engine.create_run(deployment_id, version_id, input_data={"gate": str(gate)})[
            "run_id"
        ]
        await wait_for(pilot, lambda: run_id in main.table.shown_ids(), what="new run row")
        await wait_for(pilot, lambda: "RUNNING" in _status(app, run_id), what="RUNNING")
        await wait_for(
            pilot,
            lambda: main.selected_run is not None and main.selected_run.status == "RUNNING",
            what="the detail pane on the running run",
        )
        # The runs list polls the selected run anyway: while it shows the run unchanged, the
        # detail pane's watcher does not ask for it again (RunWatcher.confirm).
        fetched, polled = fetches[0], polls[0]
        await wait_for(pilot, lambda: polls[0] >= polled + 8, what="eight more runs polls")
        assert fetches[0] - fetched <= 2, (fetches[0] - fetched, polls[0] - polled)
        # Three minutes in, the moving times say whole minutes, and the clock's ticks within
        # that minute repaint no row of the table.
        main._tick()
        ahead[0] = 185
        main._tick()
        shown = Console(width=100, record=True, file=io.StringIO())
        shown.print(main.detail_pane.query_one("#detail-head", Static).content)
        detail = shown.export_text()
        assert main.table.get_cell(run_id, "duration").plain == "3m"
        assert "3m (running)" in detail
        repainted: list[int] = []
        monkeypatch.setattr(main.table, "refresh_row", repainted.append)
        for second in range(1, 30, 7):
            ahead[0] = 185 + second
            main._tick()
        assert repainted == []
        assert main.table.get_cell(run_id, "duration").plain == "3m"
        gate.touch()
        await wait_for(pilot, lambda: "SUCCEEDED" in _status(app, run_id), what="SUCCEEDED")
        # The status still moves in the detail pane (the list's copy, then the run whole).
        await wait_for(
            pilot,
            lambda: main.selected_run is not None and main.selected_run.status == "SUCCEEDED",
            what="SUCCEEDED in the detail pane",
        )
        # A second run lands at the top, and the cursor stays on the run it was on.
        assert main.table.selected_run_id == run_id
        second = engine.create_run(deployment_id, version_id, input_data={})["run_id"]
        await wait_for(pilot, lambda: main.table.shown_ids()[:1] == [second], what="top row")
        assert main.table.selected_run_id == run_id
        assert "live" in main.status_bar.describe()


async def test_selected_running_run_shows_lines_printed_afterwards(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    gate = tmp_path / "gate"
    run_id = engine.create_run(
        deployment_id, version_id, input_data={"gate": str(gate), "before": 2, "after": 5}
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="selection")
        view = main.log_view
        await wait_for(pilot, lambda: "before 1" in view.messages(), what="first lines")
        assert not any(m.startswith("after") for m in view.messages())
        gate.touch()
        expected = [f"after {i}" for i in range(5)]
        await wait_for(
            pilot,
            lambda: [m for m in view.messages() if m.startswith("after")] == expected,
            what="lines printed after selecting",
        )
        assert view.following
        assert view.scroll_y == view.max_scroll_y


async def test_scrolling_to_top_loads_older_lines_keeping_anchor(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={"before": 2500})["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        view = main.log_view
        # Shown, not only held: the lines are laid out a frame after they arrive, and until
        # then the view's offset is 0 already, so scrolling there changed nothing and the
        # view then followed to its bottom (the cause of a flake under load).
        await wait_for(
            pilot,
            lambda: view.line_count >= 1000 and 0 < view.max_scroll_y == view.scroll_y,
            what="newest page shown",
        )
        first_count = view.line_count
        assert first_count < 2501  # only the newest page, not the whole log
        view.focus()
        anchor = view.lines[0][1]
        # Reaching the top asks for the previous page by itself (`home` now goes to the
        # log's first line, tested in test_log_reading.py; here the user scrolls up).
        view.scroll_to(y=0, animate=False, immediate=True)
        await wait_for(pilot, lambda: view.line_count > first_count, what="older page")
        await pilot.pause()
        assert not view.following
        # The line that was at the top of the view is still at the top of the view.
        assert view.lines[int(view.scroll_y)][1] == anchor
        assert view.scroll_y == view.line_count - first_count
        # Keep going to the very beginning: every line exactly once, in order.
        for _ in range(5):
            if view.at_start:
                break
            view.scroll_to(y=0, animate=False, immediate=True)
            await pilot.press("pageup")
            await pilot.pause(0.2)
        await wait_for(pilot, lambda: view.at_start, what="start of log")
        numbered = [m for m in view.messages() if m.startswith("before ")]
        assert numbered == [f"before {i}" for i in range(2500)]


async def test_form_refuses_bad_retry_count_then_submits_and_selects(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.runs_pane.loaded, what="runs")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), what="form")
        form = app.screen
        assert isinstance(form, SubmitScreen)
        select = form.query_one("#version-select", Select)
        assert app.focused is select  # the deployment is filled in: the version comes first
        await wait_for(pilot, lambda: form._versions_ok, what="versions")
        select.value = version_id
        form.query_one("#model", Input).value = "model-1"
        form.query_one("#input", TextArea).text = '{"before": 3}'
        form.query_one("#env", TextArea).text = "MODE=test\nAPI_TOKEN=s3cret"
        form.query_one("#retry", Input).value = "12"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form
        assert form.reasons()["retry"] == "retry count must be between 0 and 9"
        assert "between 0 and 9" in str(form.query_one("#reason-retry").render())
        # Every other field kept its contents.
        assert select.value == version_id
        assert form.query_one("#model", Input).value == "model-1"
        assert form.query_one("#input", TextArea).text == '{"before": 3}'
        assert form.query_one("#env", TextArea).text == "MODE=test\nAPI_TOKEN=s3cret"
        assert form.query_one("#retry", Input).value == "12"
        form.query_one("#retry", Input).value = "2"
        await pilot.pause()
        # Pressed twice: submitted once.
        await pilot.press("ctrl+s", "ctrl+s")
        await wait_for(pilot, lambda: app.screen is main, what="form closed")
        await wait_for(pilot, lambda: main.table.row_count == 1, what="new run listed")
        run_id = main.table.shown_ids()[0]
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="new run selected")
        await wait_for(pilot, lambda: "before 2" in main.log_view.messages(), what="its log")
        run = engine.get_run(deployment_id, run_id)
        assert run["retry_count"] == 2
        assert run["user_env_vars"] == {"MODE": "test", "API_TOKEN": "s3cret"}
        assert len(engine_runs(engine, deployment_id)) == 1


def engine_runs(engine: Any, deployment_id: str) -> list[dict[str, Any]]:
    with engine.client() as client:
        response = client.get(
            f"/organizations/{engine.organization_id}/deployments/{deployment_id}/runs"
        )
    return list(response.json()["entries"])


async def test_engine_down_shows_reconnecting_keeps_data_and_recovers(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    gate = tmp_path / "gate"
    run_id = engine.create_run(
        deployment_id,
        version_id,
        input_data={"gate": str(gate), "before": 1, "after": 60, "pace": 0.05},
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        view = main.log_view
        await wait_for(pilot, lambda: "before 0" in view.messages(), what="log")
        gate.touch()
        await wait_for(pilot, lambda: "after 3" in view.messages(), what="some lines")
        engine.stop()
        await wait_for(
            pilot, lambda: "reconnecting" in main.status_bar.describe(), what="reconnecting"
        )
        assert run_id in main.table.shown_ids()  # the last good data stays on screen
        assert main.table.has_class("-stale")
        assert "stale" in main.status_bar.describe()
        kept = view.line_count
        assert kept >= 4
        await pilot.pause(0.5)
        engine.start()
        await wait_for(pilot, lambda: "live" in main.status_bar.describe(), what="live again")
        assert not main.table.has_class("-stale")
        await wait_for(
            pilot, lambda: "SUCCEEDED" in _status(app, run_id), within=30, what="finished"
        )
        await wait_for(pilot, lambda: "after 59" in view.messages(), what="all lines")
        await pilot.pause(0.5)
        after = [m for m in view.messages() if m.startswith("after")]
        assert after == [f"after {i}" for i in range(60)]  # nothing lost, nothing doubled


async def scroll_back_to_start(
    pilot: Any, view: Any, each_page: Callable[[], None] = lambda: None
) -> None:
    """Scroll to the top and page up until the pane holds the start of the log, checking
    after every page (`home` is a seek to the first line: test_log_reading.py)."""
    view.focus()
    for _ in range(20):
        each_page()
        if view.at_start:
            break
        view.scroll_to(y=0, animate=False, immediate=True)
        await pilot.press("pageup")
        await pilot.pause(0.3)
    await wait_for(pilot, lambda: view.at_start, what="start of log")


async def test_lines_dropped_to_stay_bounded_come_back_when_scrolling_back(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    gate = tmp_path / "gate"
    run_id = engine.create_run(
        deployment_id, version_id, input_data={"gate": str(gate), "before": 1, "after": 3000}
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    app = make_app(
        engine,
        tmp_path,
        settings=settings_for(engine, deployment_id=deployment_id),
        max_log_lines=1200,
    )
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        view = main.log_view
        await wait_for(pilot, lambda: "before 0" in view.messages(), what="log")
        gate.touch()
        await wait_for(pilot, lambda: "after 2999" in view.messages(), what="all lines")
        assert view.line_count == 1200 and view.dropped_front > 0
        # A pane behind a flood gets a few pages at a time, not 64 (issue 15: memory).
        follower = main.log_pane.follower
        assert follower is not None and follower.max_pages_per_poll == PAGES_PER_BATCH
        await scroll_back_to_start(pilot, view)
        messages = view.messages()
        assert len(messages) == 1200, (len(messages), view.at_start, view.line_count, messages[:3])
        assert messages[1] == "before 0"
        after = [m for m in messages if m.startswith("after ")]
        assert after == [f"after {i}" for i in range(len(after))]  # contiguous, no repeats
        assert view.dropped_tail and not view.following
        await pilot.press("f")  # back to the live end: reloads the newest page
        await wait_for(pilot, lambda: "after 2999" in view.messages(), what="reloaded")
        assert view.following and not view.dropped_tail
        # `g` twice, the second while the first still pages back: the pages the first had
        # fetched are not skipped (the pane showed one line once).
        await pilot.press("g")
        await pilot.pause(0.05)
        await pilot.press("g")
        await wait_for(pilot, lambda: view.at_start and view.seeking is None, what="first line")
        shown = view.messages()
        assert shown[1] == "before 0" and shown[2:] == [f"after {i}" for i in range(len(shown) - 2)]


async def test_more_runs_load_as_the_cursor_nears_the_end(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    never = str(tmp_path / "never")
    ids = [
        engine.create_run(deployment_id, version_id, input_data={"gate": never})["run_id"]
        for _ in range(60)
    ]
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.table.row_count == 50, what="first page")
        assert main.runs_pane.poller is not None and main.runs_pane.poller.has_more
        main.table.focus()
        await pilot.press("end")
        await wait_for(pilot, lambda: main.table.row_count == 60, what="second page")
        assert main.table.shown_ids() == list(reversed(ids))


async def test_a_run_waiting_in_its_queue_says_so_until_it_prints(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    gate = tmp_path / "gate"
    # Distribution 0 and 2 share queue 0 (of 2): the second waits behind the first.
    first = engine.create_run(
        deployment_id, version_id, input_data={"gate": str(gate)}, distribution=0
    )["run_id"]
    engine.wait_for_status(deployment_id, first, {"RUNNING"})
    waiting = engine.create_run(
        deployment_id, version_id, input_data={"before": 3}, distribution=2
    )["run_id"]
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == waiting, what="selection")
        view = main.log_view
        await wait_for(pilot, lambda: "no lines yet" in str(view.border_title), what="empty")
        assert view.line_count == 0
        assert main.selected_run is not None and main.selected_run.status != "RUNNING"
        gate.touch()
        await wait_for(pilot, lambda: "before 2" in view.messages(), what="its lines")
        await wait_for(pilot, lambda: "no lines" not in str(view.border_title), what="title")
        assert f"{view.line_count:,} lines" in str(view.border_title)


def test_elapsed_says_whether_the_run_has_started() -> None:
    from datetime import timedelta

    from runwatch.api.models import Run
    from runwatch.tui.widgets.run_detail import elapsed_text
    from tests.tui.conftest import FIXED_NOW

    created = (FIXED_NOW - timedelta(seconds=4)).isoformat().replace("+00:00", "Z")
    texts = {
        status: elapsed_text(
            Run.from_wire({"run_id": "r", "status": status, "created_at": created}), FIXED_NOW
        )
        for status in ("PENDING", "STARTING", "RUNNING", "NEW_KIND")
    }
    assert texts == {
        "PENDING": "4s (not started yet)",
        "STARTING": "4s (not started yet)",
        "RUNNING": "4s (running)",
        "NEW_KIND": "4s (so far)",
    }


def test_moving_times_change_once_a_minute_after_the_first() -> None:
    """A running run's elapsed time and duration cell: seconds in its first minute, whole
    minutes (truncated) below an hour; a finished run's duration to the second."""
    from datetime import timedelta

    from runwatch.api.models import Run
    from runwatch.tui.widgets.run_cells import duration_cell
    from runwatch.tui.widgets.run_detail import elapsed_text
    from tests.tui.conftest import FIXED_NOW

    def wire(when: object) -> str:
        return str(when).replace(" ", "T").replace("+00:00", "Z")

    def run(status: str, age: float, took: float = 0.0) -> Run:
        created = FIXED_NOW - timedelta(seconds=age)
        modified = created + timedelta(seconds=took)
        return Run.from_wire(
            {
                "run_id": "r",
                "status": status,
                "created_at": wire(created),
                "modified_at": wire(modified),
            }
        )

    moving = {age: duration_cell(run("RUNNING", age), FIXED_NOW) for age in (59, 60, 185, 3599)}
    assert moving == {59: "59s", 60: "1m", 185: "3m", 3599: "59m"}
    assert duration_cell(run("RUNNING", 7322), FIXED_NOW) == "2h02m"  # a minute's step too
    assert elapsed_text(run("RUNNING", 185), FIXED_NOW) == "3m (running)"
    assert elapsed_text(run("PENDING", 125), FIXED_NOW) == "2m (not started yet)"
    # Each second of the next minute shows the same text: a tick repaints nothing.
    assert {elapsed_text(run("RUNNING", 180 + s), FIXED_NOW) for s in range(60)} == {"3m (running)"}
    # Finished: the exact duration, as it will never change again.
    assert duration_cell(run("SUCCEEDED", 999, took=185), FIXED_NOW) == "3m05s"
    assert elapsed_text(run("FAILED", 999, took=185), FIXED_NOW) == "3m05s"


BLANKS_HANDLER = """
import os, sys, time

def handler(input_data, context):
    while not os.path.exists(input_data["gate"]):
        time.sleep(0.02)
    # One burst: the lines share a few timestamps, and most of them are alike.
    for i in range(3000):
        print(f"mark {i}" if i % 97 == 0 else "")
    sys.stdout.flush()
"""


async def test_scrolling_back_through_lines_alike_joins_exactly(
    engine: Any, tmp_path: Path
) -> None:
    """Lines dropped to stay bounded are found again where they join what is held; blank
    lines written in one burst share their time and text, so one held line is not enough to
    know where that is."""
    deployment_id, version_id = engine.deploy_source(BLANKS_HANDLER, name="blanks")
    gate = tmp_path / "gate"
    run_id = engine.create_run(
        deployment_id, version_id, input_data={"gate": str(gate)}, retry_count=0
    )["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"RUNNING"})
    app = make_app(
        engine,
        tmp_path,
        settings=settings_for(engine, deployment_id=deployment_id),
        max_log_lines=2500,
    )
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        view = main.log_view
        await wait_for(pilot, lambda: main.selected_run_id == run_id, what="the run")
        await wait_for(pilot, lambda: view.line_count > 0, what="its first line")
        gate.touch()  # the burst arrives while the pane follows: its start is dropped
        engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
        stored = engine.all_log_messages(deployment_id, run_id)
        whole = "\n" + "\n".join(stored) + "\n"
        await wait_for(pilot, lambda: view.messages()[-1:] == stored[-1:], what="the end")
        assert view.dropped_front > 0

        def one_stretch() -> None:
            # After every page: one stretch of the stored log, nothing doubled, nothing left out.
            assert "\n" + "\n".join(view.messages()) + "\n" in whole

        await scroll_back_to_start(pilot, view, one_stretch)
        assert view.messages() == stored[: view.line_count]


def test_the_status_line_says_how_old_the_data_is_only_when_it_says_something() -> None:
    from datetime import timedelta

    from runwatch.tui.connection import Connection
    from runwatch.tui.widgets.status_bar import StatusBar
    from tests.tui.conftest import FIXED_NOW

    def line(mode: str, age: float) -> str:
        bar = StatusBar(clock=lambda: FIXED_NOW, fresh_for=15.0)
        bar.connection = Connection(mode, "", FIXED_NOW - timedelta(seconds=age))  # type: ignore[arg-type]
        return bar.describe()

    # Polls come at least every 10 s (the idle interval): no seconds counting up meanwhile.
    assert [line("live", age) for age in (0, 9, 14.9)] == ["● live"] * 3
    assert line("live", 15) == "● live · updated <1 min ago"
    assert line("live", 185) == "● live · updated 3 min ago"
    assert line("paused", 5) == "‖ paused (p resumes) · updated <1 min ago"
    assert line("paused", 7300) == "‖ paused (p resumes) · updated 2 h ago"
    # An outage counts the seconds: when the data went stale matters then.
    stale = Connection("reconnecting", "503", FIXED_NOW - timedelta(seconds=42), FIXED_NOW)
    bar = StatusBar(clock=lambda: FIXED_NOW)
    bar.connection = stale
    assert "stale, updated 42 s ago" in bar.describe()


def test_a_success_that_changes_nothing_else_is_not_news_but_the_line_still_sees_it() -> None:
    from datetime import timedelta

    from runwatch.tui.connection import ConnectionState
    from runwatch.tui.widgets.status_bar import StatusBar
    from tests.tui.conftest import FIXED_NOW

    state = ConnectionState()
    told: list[str] = []
    state.listen(lambda: told.append(state.view().mode))
    state.connecting()
    start = FIXED_NOW - timedelta(minutes=5)
    state.succeeded("runs", start)  # loading -> live: news
    for second in range(1, 300):
        state.succeeded("logs", start + timedelta(seconds=second))
    assert told == ["loading", "live"]
    # The end of an outage is news again.
    state.failing("logs", "503", FIXED_NOW)
    state.succeeded("logs", FIXED_NOW)
    assert told == ["loading", "live", "reconnecting", "live"]

    # The status line was last told of the first success, five minutes ago; it reads the
    # newest itself.
    snapshot = ConnectionState()
    snapshot.connecting()
    snapshot.succeeded("runs", start)
    bar = StatusBar(clock=lambda: FIXED_NOW, fresh_for=15.0, last_ok=lambda: state.last_ok)
    bar.connection = snapshot.view()
    assert bar.describe() == "● live"
    state.last_ok = FIXED_NOW - timedelta(minutes=3)
    assert bar.describe() == "● live · updated 3 min ago"


async def test_a_runs_list_unchanged_for_a_minute_is_polled_less_until_it_changes(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    from runwatch.tui.session import RUNS_SILENT_AFTER, RUNS_SILENT_INTERVAL
    from tests.follow.follow_fakes import FakeClock

    deployment_id, version_id = gated
    gate = tmp_path / "gate"
    first = engine.create_run(deployment_id, version_id, input_data={"gate": str(gate)})
    settings = settings_for(engine, deployment_id=deployment_id)
    app = make_app(engine, tmp_path, settings=settings)
    try:
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            main = app.main
            run_id = first["run_id"]
            await wait_for(
                pilot,
                lambda: run_id in main.table.shown_ids() and "RUNNING" in _status(app, run_id),
                what="the running run",
            )
            clock = FakeClock(real_pause=0.01)
            schedule = app.session.schedules["runs"]
            schedule.clock = clock
            # The tests' settings poll every 0.1 s: a second, as a user's do, keeps this short.
            schedule.interval = schedule.busy_interval = 1.0
            schedule.restart_silence()
            await wait_for(
                pilot, lambda: clock.now >= RUNS_SILENT_AFTER + 10, what="a quiet minute"
            )
            # A second a poll while the list could still move, then the silent pace.
            quiet = clock.sleeps.index(RUNS_SILENT_INTERVAL)
            assert clock.sleeps[:quiet] == [1.0] * quiet
            assert RUNS_SILENT_AFTER - 2 <= sum(clock.sleeps[:quiet]) <= RUNS_SILENT_AFTER + 1
            # A new run changes the list: shown, and the interval is back at once.
            second = engine.create_run(deployment_id, version_id, input_data={"gate": str(gate)})
            await wait_for(
                pilot, lambda: second["run_id"] in main.table.shown_ids(), what="the new run"
            )
            polls = len(clock.sleeps)
            await wait_for(pilot, lambda: len(clock.sleeps) >= polls + 3, what="three polls")
            assert clock.sleeps[polls : polls + 3] == [1.0] * 3
    finally:
        gate.touch()
