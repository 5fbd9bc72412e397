"""Lines that share one instant across page boundaries, with every token shape: each line once,
in order, following forward and paging back.

A handler that prints many lines at once gets them stored at one instant (one pipe read). The
newest page then begins inside that instant, and a follower that goes on by time (the seed's
`[]` forward token on the newest page, `null`, no key, the same token) must count the lines
it holds at that instant from the first one in the log, not from the front of its page: it
handed out the newest 100 of 1,100 lines a second time (seen in the dashboard under load).
Random logs here put such instants at the page's front, lines arriving between the newest
page and the next request, and bursts before each poll; the whole log must come out once.
Paging back by time, lines delivered later at the one instant all held lines share count
among the held ones (seed 5 with whole-second times fails for every shape without that).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runwatch.api.client import AsyncAPIClient
from runwatch.follow.log_source import Page
from runwatch.follow.logs import LogFollower
from tests.conftest import EngineProcess
from tests.token_server import SHAPES, TokenShapeServer

# 1,100 lines in one write: one pipe read, so the engine stores them at one instant. They
# are held open at a gate so the newest page is theirs (not the engine's closing lines).
AT_ONCE_HANDLER = """
import os, time

def handler(input_data, context):
    os.write(1, "".join(f"before {i}\\n" for i in range(1100)).encode())
    while not os.path.exists(input_data["gate"]):
        time.sleep(0.02)
    return {"ok": True}
"""

PRECISIONS = ("us", "ms", "s")


@pytest.fixture(params=SHAPES)
def server(request: pytest.FixtureRequest) -> Iterator[TokenShapeServer]:
    server = TokenShapeServer(str(request.param), page_size=7)
    try:
        yield server
    finally:
        server.close()


def _add_burst(server: TokenShapeServer, run: str, rng: random.Random, name: str) -> None:
    """Lines one after another, or many at one instant (a whole print at once), or a few ms
    apart (several per second with whole-second times)."""
    count = rng.choice([1, 2, 5, 9, 16, 23])
    step = rng.choice([0.0, 0.0, 0.0, 0.001, 0.2, 0.7])
    server.add(run, [f"{name} {i}" for i in range(count)], step=step)


async def _follow_and_page_back(server: TokenShapeServer, seed: int) -> None:
    rng = random.Random(seed)
    server.precision = rng.choice(PRECISIONS)
    run = server.add_run(f"run-{seed}")
    for number in range(rng.randint(0, 3)):
        _add_burst(server, run, rng, f"old{number}")
    # The newest page (7 lines) lies inside one instant of more lines than a page.
    server.add(run, [f"flood {i}" for i in range(rng.randint(8, 30))], step=0.0)
    async with AsyncAPIClient(
        server.credential, max_retry_count=0, base_url=server.url, environ={}
    ) as api:
        f = LogFollower(api, server.organization_id, server.deployment_id, run)
        real_recent = f.source.recent
        arrivals = [rng.random() < 0.5]

        async def recent(**kwargs: Any) -> Page:
            page = await real_recent(**kwargs)
            if arrivals[0]:
                # Lines logged between the newest page and the next request.
                arrivals[0] = False
                _add_burst(server, run, rng, "between")
            return page

        f.source.recent = recent  # type: ignore[method-assign]
        got = [e.message for e in await f.poll()]
        for number in range(rng.randint(1, 4)):
            _add_burst(server, run, rng, f"new{number}")
            while True:
                got += [e.message for e in await f.poll()]
                if f.caught_up:
                    break
        got += [e.message for e in await f.poll()]
        everything = server.messages(run)
        context = f"seed {seed}, {server.shape}, precision {server.precision}"
        assert len(got) == len(set(got)), f"a line twice ({context})"
        assert got == everything[len(everything) - len(got) :], context
        pages = 0
        while not f.at_start:
            got = [e.message for e in await f.older()] + got
            pages += 1
            assert pages < 40, f"paging back never reached the start ({context})"
        assert got == everything, context


async def test_lines_at_one_instant_across_pages_come_once(server: TokenShapeServer) -> None:
    for seed in range(6):
        await _follow_and_page_back(server, seed)


async def test_the_newest_page_inside_one_instant_is_not_handed_out_again(
    server: TokenShapeServer,
) -> None:
    # The dashboard's case, made small: 11 lines printed at once, a newest page of 7 of them,
    # nothing new. The first poll is the newest page only; the next one brings nothing.
    run = server.add_run()
    server.add(run, ["started"], step=0.5)
    server.add(run, [f"before {i}" for i in range(11)], step=0.0)
    async with AsyncAPIClient(
        server.credential, max_retry_count=0, base_url=server.url, environ={}
    ) as api:
        f = LogFollower(api, server.organization_id, server.deployment_id, run)
        assert [e.message for e in await f.poll()] == [f"before {i}" for i in range(4, 11)]
        assert await f.poll() == []
        server.add(run, ["after 0"], step=0.0)
        assert [e.message for e in await f.poll()] == ["after 0"]
        older = [e.message for e in await f.older()]
        assert older == ["started"] + [f"before {i}" for i in range(4)]


async def test_a_newest_page_inside_one_instant_on_the_engine(
    engine: EngineProcess, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    deployment, version = engine.deploy_source(AT_ONCE_HANDLER, name="at-once")
    run = engine.create_run(deployment, version, input_data={"gate": str(gate)})["run_id"]
    try:
        deadline = time.monotonic() + 30
        while "before 1099" not in engine.all_log_messages(deployment, run):
            assert time.monotonic() < deadline, "the lines never came"
            await asyncio.sleep(0.05)
        async with AsyncAPIClient(
            engine.credential, max_retry_count=0, base_url=engine.url, environ={}
        ) as api:
            f = LogFollower(api, engine.organization_id, deployment, run)
            first = [e.message for e in await f.poll()]
            # The newest page (the engine's 1,000), no line twice; before the fix the newest
            # 100 came again at its end.
            assert first == [f"before {i}" for i in range(100, 1100)]
            assert f.newest_time is not None
            assert await f.poll() == []
            older = [e.message for e in await f.older()]
            assert older[-100:] == [f"before {i}" for i in range(100)]
    finally:
        gate.touch()


async def test_a_server_whose_logs_ignore_start_time_still_gives_each_line_once() -> None:
    # The instant is then read from the log's start (the events before it dropped): slower,
    # bounded (MAX_INSTANT_PAGES), and each line still comes once.
    server = TokenShapeServer("seed", page_size=7, logs_ignore_times=True)
    try:
        run = server.add_run()
        server.add(run, [f"old {i}" for i in range(60)], step=0.5)
        server.add(run, [f"flood {i}" for i in range(9)], step=0.0)
        async with AsyncAPIClient(
            server.credential, max_retry_count=0, base_url=server.url, environ={}
        ) as api:
            f = LogFollower(api, server.organization_id, server.deployment_id, run)
            got = [e.message for e in await f.poll()]
            got += [e.message for e in await f.poll()]
            server.add(run, ["after"], step=0.0)
            got += [e.message for e in await f.poll()]
        assert got == [f"flood {i}" for i in range(2, 9)] + ["after"]
    finally:
        server.close()
