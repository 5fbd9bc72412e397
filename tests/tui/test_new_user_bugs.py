"""What a new user broke within minutes (issue 12, items 1-8): each test failed on the old code.

The crashes the input fuzz found (item 10) are in test_fuzz_regressions.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, TextArea
from textual.widgets._footer import FooterKey

from runwatch.tui.screens.deployments import DeploymentsScreen
from runwatch.tui.screens.submit import SubmitScreen
from runwatch.tui.state import StateStore, ViewState
from tests.tui.conftest import make_app, settings_for, wait_for


def toasts(app: Any) -> list[str]:
    return [str(toast.message) for toast in app._notifications]


def screen_text(app: Any) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def footer(app: Any) -> dict[str, FooterKey]:
    return {key.description: key for key in app.screen.query(FooterKey)}


async def test_o_and_choosing_the_same_deployment_again_keep_the_rows(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    never = str(tmp_path / "never")
    for _ in range(2):
        engine.create_run(deployment_id, version_id, input_data={"gate": never})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.table.row_count == 2, what="two runs")
        await pilot.press("o")
        await wait_for(pilot, lambda: main.runs_pane.loaded, what="reloaded")
        await pilot.pause(0.3)
        assert main.table.row_count == 2
        assert "2 shown" in str(main.runs_pane.border_subtitle)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentsScreen), what="list")
        await wait_for(pilot, lambda: app.screen.query_one("OptionList").option_count > 0)
        await pilot.pause(0.2)
        await pilot.press("enter")  # the current one, highlighted
        await wait_for(pilot, lambda: app.screen is main, what="back")
        await wait_for(pilot, lambda: main.runs_pane.loaded, what="reloaded")
        await pilot.pause(0.3)
        assert main.table.row_count == 2


async def test_search_terms_and_toasts_are_never_markup(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={"before": 3})["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: "before 2" in main.log_view.messages(), what="log")
        for term in ("[/]", "[b]"):
            await pilot.press("l", "slash", *term, "enter")
            await pilot.pause()
            await pilot.press("n")
            await pilot.pause(0.2)
            assert f"No match for '{term}' in the loaded log" in toasts(app)
        assert app.is_running


async def open_form(pilot: Any, app: Any) -> SubmitScreen:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, SubmitScreen), what="form")
    form = app.screen
    assert isinstance(form, SubmitScreen)
    await wait_for(pilot, lambda: form._versions_ok, what="versions")
    return form


async def test_non_standard_json_is_a_field_error_and_escape_closes_the_form(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.runs_pane.loaded, what="runs")
        form = await open_form(pilot, app)
        form.query_one("#version-select", Select).value = version_id
        for text in ('{"a": NaN}', '{"a": 1e999}', '{"a": -Infinity}'):
            form.query_one("#input", TextArea).text = text
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause(0.2)
            assert form.reasons()["input"].startswith("invalid JSON"), text
            assert app.screen is form
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main, what="form closed")
        assert main.table.row_count == 0  # nothing was sent


async def test_below_120_columns_no_key_goes_into_a_hidden_filter(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    engine.create_run(deployment_id, version_id, input_data={"before": 2})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run is not None, what="a run")
        await pilot.pause(0.3)
        # The footer was drawn before the first run arrived; it must not keep R greyed out.
        assert not footer(app)["Rerun"].has_class("-disabled")
        await pilot.press("l", "i", "i", "question_mark")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause(0.2)
        await pilot.press("x", "y", "z")
        await pilot.pause(0.3)
        box = main.query_one("#runs-filter", Input)
        assert box.value == ""
        assert not main.table.run_filter
        focused = app.focused
        assert not (isinstance(focused, Input) and not focused.has_class("-open"))
        # Escape always leaves an open input.
        await pilot.press("r", "slash", "a")
        assert app.focused is box
        await pilot.press("escape")
        assert app.focused is main.table


async def test_history_shows_the_runs_own_times_after_a_restart(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={"before": 1})["run_id"]
    finished = engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    # The app's clock says another time of day: the old history showed it as the run's.
    clock = datetime(2031, 5, 5, 23, 59, 58, tzinfo=UTC)
    app = make_app(
        engine,
        tmp_path,
        settings=settings_for(engine, deployment_id=deployment_id),
        clock=lambda: clock,
    )
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run is not None, what="the run")
        await pilot.pause(0.3)
        head = screen_text(app)
        assert "23:59:58" not in head
        modified = datetime.fromisoformat(finished["modified_at"])
        assert modified.strftime("%H:%M:%S") in head


async def test_a_complete_short_log_says_lines_not_lines_loaded(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={"before": 5})["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        view = main.log_view
        await wait_for(pilot, lambda: "before 4" in view.messages(), what="log")
        await wait_for(pilot, lambda: view.at_start, what="the start known")
        title = str(view.border_title)
        assert title.endswith(f"· {view.line_count:,} lines"), title


async def test_after_a_401_the_spinner_stops(engine: Any, tmp_path: Path) -> None:
    settings = settings_for(engine, credential={"auth_token": "wrong"})
    app = make_app(engine, tmp_path, settings=settings)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: "401" in main.status_bar.describe(), what="401")
        await pilot.pause(0.2)
        assert main.query_one("#runs-pane").loading is False


async def test_the_footer_shows_n_new_again_after_a_search(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={"before": 3})["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(160, 36), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: "before 2" in main.log_view.messages(), what="log")
        await pilot.press("l", "slash", *"before", "enter")
        await pilot.pause(0.2)
        assert "New" not in footer(app)  # n is "next match" while the search is on
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert "New" in footer(app)


async def test_at_80x24_help_quit_the_deployment_and_whole_columns_fit(
    engine: Any, gated: tuple[str, str], tmp_path: Path
) -> None:
    deployment_id, version_id = gated
    engine.create_run(deployment_id, version_id, input_data={"before": 1})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.table.row_count == 1, what="a run")
        await pilot.pause(0.3)
        keys = footer(app)
        assert "Deployments" in keys and "Deploy" not in keys
        for name in ("Help", "Quit"):
            region = keys[name].region
            assert region.width and region.right <= 80, name
        shown = main.status_bar.render_text().plain[: main.status_bar.size.width]
        assert "deployment gated" in shown
        table = main.table
        used = sum(column.width + 2 * table.cell_padding for column in table.columns.values())
        assert used <= table.scrollable_content_region.width
        created = table.get_cell(table.shown_ids()[0], "created").plain
        assert (created == "now" or created.endswith(" ago")) and len(created) <= 7, created
        # Offline, the outage's longer wording gives way to the deployment, not the reverse.
        engine.stop()
        bar = main.status_bar
        await wait_for(pilot, lambda: "stale" in bar.render_text().plain, what="offline")
        shown = bar.render_text().plain
        assert len(shown) <= bar.size.width and shown.endswith("deployment gated"), shown
        assert shown.startswith("↻ reconnecting")


async def test_typing_a_filter_before_any_data_keeps_the_remembered_view(
    engine: Any, tmp_path: Path
) -> None:
    store = StateStore(tmp_path / "state")
    store.save(None, ViewState(deployment_id="dep-kept", scan_forward=True, show_timestamps=False))
    # Nothing answers: no data ever arrives.
    settings = settings_for(engine, api_url="http://127.0.0.1:9")
    app = make_app(engine, tmp_path, settings=settings, state_store=store)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause(0.2)
        # As the command palette's "Show only ..." entries do (the table is still loading).
        app.main.runs_pane.apply_filter("abc")
        await pilot.pause(0.2)
    saved = json.loads((tmp_path / "state" / "ui-local.json").read_text())
    assert saved["deployment_id"] == "dep-kept"
    assert saved["scan_forward"] is True and saved["show_timestamps"] is False
    assert saved["run_filter"] == "abc"


def test_the_created_column_never_cuts_an_age_mid_word() -> None:
    from datetime import UTC, datetime, timedelta

    from runwatch.tui.format import short_age

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    ages = {
        timedelta(seconds=0): "now",
        timedelta(seconds=59): "59s ago",
        timedelta(hours=23, minutes=59): "23h ago",
        timedelta(days=99): "99d ago",
        timedelta(days=274): "Mar 02",
        timedelta(days=400): "2025-10",
    }
    for age, shown in ages.items():
        assert short_age(now - age, now) == shown
        assert len(shown) <= 7  # the column's width


async def test_a_narrow_footer_shows_whole_keys_only(engine: Any, tmp_path: Path) -> None:
    app = make_app(engine, tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        for width in (80, 100, 80, 200):
            await pilot.resize_terminal(width, 24)
            await pilot.pause(0.3)
            keys = list(footer(app).values())
            palette = next(key for key in keys if key.has_class("-command-palette"))
            shown = [key for key in keys if key.display and key is not palette]
            # No key runs on under the palette key (cut mid-word), none is left half drawn.
            assert all(key.region.right <= palette.region.x for key in shown), width
            assert palette.region.right == width
            assert [key.description for key in shown[:2]] == ["Quit", "Help"]
            assert len(shown) == len(keys) - 1 or width < 200, width
