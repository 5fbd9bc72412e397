"""Every token shape the contract allows is a normal answer: each event once, in order.

Against `tests/token_server.py` on a loopback port: `[]` (the seed), the same token back,
`null`, `""`, no key, and no usable token on any answer; with timestamps in microseconds,
milliseconds and whole seconds (lines that share their time must be counted, not guessed),
and both readings of `end_time`. The log grows in bursts smaller and larger than a page while
the follower follows it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from runwatch.api.client import AsyncAPIClient
from runwatch.api.errors import ApiError
from runwatch.follow.log_read import read_log
from runwatch.follow.logs import LogFollower
from runwatch.follow.schedule import PollSchedule
from tests.follow.follow_fakes import FakeClock
from tests.token_server import SHAPES, TokenShapeServer

PRECISIONS = ("us", "ms", "s")


@pytest.fixture(params=SHAPES)
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serve(shape: str, **kwargs: object) -> Iterator[TokenShapeServer]:
    server = TokenShapeServer(shape, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=PRECISIONS)
def server(shape: str, request: pytest.FixtureRequest) -> Iterator[TokenShapeServer]:
    yield from serve(shape, precision=request.param)


def client(server: TokenShapeServer) -> AsyncAPIClient:
    return AsyncAPIClient(
        {"auth_token": server.token}, max_retry_count=0, base_url=server.url, environ={}
    )


def follower(server: TokenShapeServer, api: AsyncAPIClient, run: str, **kw: object) -> LogFollower:
    return LogFollower(api, server.organization_id, server.deployment_id, run, **kw)  # type: ignore[arg-type]


def bursts(rng: random.Random) -> Iterator[tuple[int, float]]:
    """(lines, seconds between them): single lines, bursts over a page, lines at one instant."""
    for _ in range(14):
        yield rng.choice([(1, 0.4), (3, 0.1), (9, 0.05), (20, 0.01), (5, 0.0), (16, 0.0)])


async def _follow_growing(server: TokenShapeServer, seed: int, **start: object) -> list[str]:
    rng = random.Random(seed)
    run = server.add_run()
    server.add(run, [f"old {i}" for i in range(10)], step=0.2)
    got: list[str] = []
    async with client(server) as api:
        f = follower(server, api, run, **start)
        got += [e.message for e in await f.poll()]
        for number, (count, step) in enumerate(bursts(rng)):
            server.add(run, [f"b{number} line {i}" for i in range(count)], step=step)
            if rng.random() < 0.5:
                # Some polls find nothing new, some find two bursts.
                got += [e.message for e in await f.poll()]
            got += [e.message for e in await f.poll()]
            assert f.caught_up
        got += [e.message for e in await f.poll()]
        # Nothing new: nothing delivered, and the poll stays small: one request, or with
        # no token to tell, also one read of the newest second (here pages are tiny).
        before = f.traffic.requests
        assert await f.poll() == []
        last_second = server.last_second_count(run)
        assert f.traffic.requests - before <= 2 + last_second // server.page_size
    return got


async def test_following_delivers_each_event_once_in_order(server: TokenShapeServer) -> None:
    got = await _follow_growing(server, seed=7, from_start=True)
    assert got == server.messages("run-1")


async def test_following_from_the_newest_page(shape: str) -> None:
    for server in serve(shape, precision="ms"):
        await _check_from_newest(server)


async def _check_from_newest(server: TokenShapeServer) -> None:
    got = await _follow_growing(server, seed=11)
    everything = server.messages("run-1")
    # The newest page first (up to a page of the old lines), then every new line once.
    assert got == everything[len(everything) - len(got) :]
    assert got[-1] == everything[-1]
    assert len(got) >= len(everything) - 10


@pytest.mark.parametrize("end_inclusive_second", [True, False])
async def test_scrolling_back_reaches_the_first_line_once(
    shape: str, end_inclusive_second: bool
) -> None:
    for server in serve(shape, precision="s", end_inclusive_second=end_inclusive_second):
        run = server.add_run()
        # Whole-second stamps and 0.1 s apart: ten lines share each second, and some
        # seconds hold more than a page.
        server.add(run, [f"line {i}" for i in range(60)], step=0.1)
        server.add(run, [f"burst {i}" for i in range(20)], step=0.0)
        server.add(run, [f"tail {i}" for i in range(5)], step=0.3)
        async with client(server) as api:
            f = follower(server, api, run)
            shown = [e.message for e in await f.poll()]
            pages = 0
            while not f.at_start:
                shown = [e.message for e in await f.older()] + shown
                pages += 1
                assert pages < 60, "scrolling back never reached the start"
            assert shown == server.messages(run)
            assert await f.older() == []


@pytest.mark.parametrize("tail", [0, 1, 7, 8, 500])
async def test_tail_is_the_newest_lines_and_then_follows(shape: str, tail: int) -> None:
    for server in serve(shape, precision="ms"):
        run = server.add_run()
        server.add(run, [f"line {i}" for i in range(40)], step=0.05)
        async with client(server) as api:
            f = follower(server, api, run, tail=tail)
            first = [e.message for e in await f.poll()]
            assert first == (server.messages(run)[-tail:] if tail else [])
            server.add(run, ["new"], step=0.05)
            assert [e.message for e in await f.poll()] == ["new"]


async def test_a_whole_log_read_and_the_first_answer_empty(shape: str) -> None:
    for server in serve(shape, precision="s"):
        run = server.add_run()
        async with client(server) as api:
            f = follower(server, api, run)
            assert await f.poll() == []  # an empty log: the first answer carries nothing
            assert f.at_start
            server.add(run, [f"line {i}" for i in range(25)], step=0.0)
            assert [e.message for e in await f.poll()] == server.messages(run)
            server.add(run, [f"more {i}" for i in range(3)], step=0.0)
            assert [e.message for e in await f.poll()] == [f"more {i}" for i in range(3)]
            read = [e.message for b in await _collect(read_log(api, *_ids(server, run))) for e in b]
            assert read == server.messages(run)


async def test_follow_loop_reports_no_error_for_any_shape(server: TokenShapeServer) -> None:
    run = server.add_run()
    server.add(run, [f"line {i}" for i in range(12)], step=0.2)
    errors: list[ApiError] = []
    clock = FakeClock()
    schedule = PollSchedule(interval=1.0, idle_interval=5.0, max_backoff=8.0, clock=clock)
    got: list[str] = []
    async with client(server) as api:
        f = follower(server, api, run, from_start=True)
        polls = 0
        async for batch in f.follow(schedule, on_error=lambda e, d: errors.append(e)):
            got += [e.message for e in batch]
            polls += 1
            if polls == 3:
                server.add(run, ["last words"], step=0.0)
                server.set_status(run, "SUCCEEDED")
            assert polls < 30
    assert errors == []
    assert got == server.messages(run)
    assert f.done and f.status == "SUCCEEDED"
    # No backoff: every wait was the plain interval.
    assert all(s <= 1.0 for s in clock.sleeps)


def _ids(server: TokenShapeServer, run: str) -> tuple[str, str, str]:
    return server.organization_id, server.deployment_id, run


async def _collect(it: object) -> list[list[object]]:
    return [batch async for batch in it]  # type: ignore[attr-defined]
