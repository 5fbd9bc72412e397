"""The dashboard against a server that answers log tokens the seed's way or with none at all.

What a platform user sees: the runs, a log that follows new lines with no banner and no stale
mark, and scrolling back that reaches the first line, each line once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.token_server import TokenShapeServer
from tests.tui.conftest import make_app, settings_for, wait_for
from tests.tui.test_app import scroll_back_to_start


@pytest.fixture(params=["seed", "same", "null", "never"])
def hosted(request: pytest.FixtureRequest) -> Iterator[TokenShapeServer]:
    server = TokenShapeServer(str(request.param), page_size=40, precision="ms")
    try:
        yield server
    finally:
        server.close()


def _grow(server: TokenShapeServer, run: str, stop: threading.Event) -> None:
    number = 0
    while not stop.is_set() and number < 200:
        server.add(run, [f"live {number + i}" for i in range(5)], step=0.002)
        number += 5
        time.sleep(0.05)


async def test_follows_and_scrolls_back_with_no_banner(
    hosted: TokenShapeServer, tmp_path: Path
) -> None:
    run = hosted.add_run("run-20260301")
    hosted.add(run, [f"history {i}" for i in range(150)], step=0.003)
    # The deployment by its name, as a platform user knows it. The server's times are in
    # March 2026: against the app's clock its run has printed nothing for months, so quiet
    # runs (which compare log times with the app's clock, as elapsed times do) are off here.
    settings = settings_for(hosted, deployment_id=hosted.deployment_name, quiet_after=0)
    app = make_app(hosted, tmp_path, settings=settings)
    stop = threading.Event()
    grower = threading.Thread(target=_grow, args=(hosted, run, stop), daemon=True)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        main = app.main
        await wait_for(pilot, lambda: main.selected_run_id == run, what="the run selected")
        view = main.log_view
        await wait_for(pilot, lambda: "history 149" in view.messages(), what="the newest page")
        grower.start()
        described: set[str] = set()
        deadline = time.monotonic() + 30
        while grower.is_alive() and time.monotonic() < deadline:
            described.add(main.status_bar.describe())
            await pilot.pause(0.05)
        stop.set()
        await wait_for(pilot, lambda: "live 199" in view.messages(), what="the last line")
        assert not [d for d in described if "stale" in d or "reconnecting" in d], described
        assert not [n for n in app._notifications if n.severity != "information"]
        await scroll_back_to_start(pilot, view)
        assert view.messages() == hosted.messages(run)
