"""Older pages asked for at the top of the log pane while another is on its way, against the
real engine. The page request is held at a gate (the page itself comes from the engine) so
what happens meanwhile is the same on every run, however loaded the machine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runwatch.follow.log_backward import BackwardPager
from runwatch.follow.logs import LogFollower
from tests.tui.conftest import make_app, settings_for, wait_for


def _hold_first_older_page(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], asyncio.Event]:
    """Count the older pages the pane asks for; the first one fetched waits for the event to
    land. The pane asks the follower (which may hand out lines its start read, or ask its
    pager) or a pager of its own: only its own call counts, not the follower's into its pager."""
    calls = [0]
    release = asyncio.Event()
    depth = [0]

    def held(real_older: Any) -> Any:
        async def held_older(self: Any) -> Any:
            outer = depth[0] == 0
            if outer:
                calls[0] += 1
            number = calls[0]
            depth[0] += 1
            try:
                events = await real_older(self)
            finally:
                depth[0] -= 1
            if outer and number == 1:
                await release.wait()
            return events

        return held_older

    monkeypatch.setattr(BackwardPager, "older", held(BackwardPager.older))
    monkeypatch.setattr(LogFollower, "older", held(LogFollower.older))
    return calls, release


async def test_a_page_thrown_away_while_the_user_sits_at_the_top_is_asked_for_again(
    engine: Any, gated: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The user scrolls to the top (a page is asked for), follows again while it is on its
    # way (new lines push the oldest out of the bounded view: the page no longer joins and
    # is thrown away), then scrolls back to the top before it lands. Reaching the top asked
    # nothing then (a page was in flight); the pane must ask again, or nothing ever comes.
    calls, release = _hold_first_older_page(monkeypatch)
    deployment_id, version_id = gated
    gate = tmp_path / "gate"
    run_id = engine.create_run(
        deployment_id,
        version_id,
        input_data={"gate": str(gate), "before": 1100, "after": 20, "at_once": True},
    )["run_id"]
    app = make_app(
        engine,
        tmp_path,
        settings=settings_for(engine, deployment_id=deployment_id),
        max_log_lines=1000,
    )
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        view = app.main.log_view
        await wait_for(
            pilot,
            lambda: "before 1099" in view.messages() and 0 < view.max_scroll_y == view.scroll_y,
            what="newest page shown",
        )
        view.focus()
        view.scroll_to(y=0, animate=False, immediate=True)
        await wait_for(pilot, lambda: calls[0] == 1 and view.loading_older, what="page asked")
        await pilot.press("f")
        assert view.following
        front = view.dropped_front
        gate.touch()
        await wait_for(
            pilot,
            lambda: "after 19" in view.messages() and view.dropped_front > front,
            what="lines pushing the oldest out",
        )
        view.scroll_to(y=0, animate=False, immediate=True)
        assert not view.following and view.loading_older
        oldest = view.lines[0][1]
        release.set()
        await wait_for(pilot, lambda: view.lines[0][1] != oldest, what="older page asked again")
        assert calls[0] == 2
        # Older lines came in front of those held and join them: no line twice, none
        # missing. (Under CPU load the newest page once lay inside one instant of the
        # 1,100 lines and the follower handed its newest 100 out again; a pager started from
        # the held lines then counted the copies and left a hole of as many.)
        shown = view.messages()
        assert shown.index(oldest) > 0
        everything = engine.all_log_messages(deployment_id, run_id)
        first = everything.index(shown[0])
        assert shown == everything[first : first + len(shown)]


async def test_reaching_the_top_again_while_a_page_is_on_its_way_does_not_cancel_it(
    engine: Any, gated: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, release = _hold_first_older_page(monkeypatch)
    deployment_id, version_id = gated
    run_id = engine.create_run(deployment_id, version_id, input_data={"before": 1100})["run_id"]
    engine.wait_for_status(deployment_id, run_id, {"SUCCEEDED"})
    app = make_app(engine, tmp_path, settings=settings_for(engine, deployment_id=deployment_id))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        view = app.main.log_view
        await wait_for(
            pilot,
            lambda: view.line_count >= 1000 and 0 < view.max_scroll_y == view.scroll_y,
            what="newest page shown",
        )
        count = view.line_count
        view.scroll_to(y=0, animate=False, immediate=True)
        await wait_for(pilot, lambda: calls[0] == 1 and view.loading_older, what="page asked")
        # A second request (a NeedOlder posted just before the first load began) must not
        # cancel the page on its way and ask for it once more.
        view.post_message(view.NeedOlder())
        await pilot.pause()
        release.set()
        await wait_for(pilot, lambda: view.line_count > count, what="older page")
        await pilot.pause()
        assert calls[0] == 1
        assert next(m for m in view.messages() if m.startswith("before ")) == "before 0"
