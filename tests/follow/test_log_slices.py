"""A whole-log read in parallel time slices: each line once, in order, whatever the server.

Against `tests/token_server.py` (7 events a page): lines in bursts that share one time
exactly on the slices' edges, whole-second and microsecond timestamps, token shapes, a log
that grows during the read, and a server whose `logs` ignores start_time/end_time.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from runwatch.api.client import AsyncAPIClient
from runwatch.follow.log_edges import newest_edge
from runwatch.follow.log_read import messages, read_log, read_log_wire
from runwatch.follow.log_slices import SliceReader, _clip, _Slice
from runwatch.follow.log_source import events_oldest_first
from tests.token_server import TokenShapeServer


@pytest.fixture
def make_server() -> Iterator[Any]:
    servers: list[TokenShapeServer] = []

    def make(shape: str = "seed", **kwargs: Any) -> TokenShapeServer:
        server = TokenShapeServer(shape, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def _client(server: TokenShapeServer) -> AsyncAPIClient:
    return AsyncAPIClient(
        {"auth_token": server.token}, max_retry_count=0, base_url=server.url, environ={}
    )


def _ids(server: TokenShapeServer, run: str) -> tuple[str, str, str]:
    return server.organization_id, server.deployment_id, run


def _bursts(server: TokenShapeServer, run: str, seconds: int) -> None:
    """Each whole second: 15 lines at exactly that second (two pages' worth), then 2 more."""
    for second in range(seconds):
        server.add(run, [f"s{second} burst {i}" for i in range(15)], step=0.0)
        server.add(run, [f"s{second} after {i}" for i in range(2)], step=0.3)
        server.clock = server.clock.replace(microsecond=0) + timedelta(seconds=1)


def _slice_starts(server: TokenShapeServer) -> list[str]:
    """The start_time of every `logs` request that sent one."""
    queries = [parse_qs(urlsplit(r).query) for r in server.requests if "/logs" in r]
    return [q["start_time"][0] for q in queries if "start_time" in q]


async def _lines(stream: AsyncIterator[list[Any]]) -> list[str]:
    return [line for batch in [b async for b in stream] for line in messages(batch)]


@pytest.mark.parametrize(("shape", "precision"), [("seed", "s"), ("same", "ms")])
async def test_bursts_exactly_on_slice_edges_come_once_in_order(
    make_server: Any, shape: str, precision: str
) -> None:
    server = make_server(shape, precision=precision)
    run = server.add_run(status="SUCCEEDED")
    _bursts(server, run, 14)
    async with _client(server) as api:
        got = await _lines(read_log_wire(api, *_ids(server, run), workers=2))
    assert got == server.messages(run)
    starts = _slice_starts(server)
    # Sliced (8 slices of 2 workers), on whole seconds, so each edge is a burst's time.
    assert len(starts) >= 6
    assert all(start[19:] in ("", ".000000") for start in starts)


async def test_slices_with_fractional_edges_and_the_log_event_api(make_server: Any) -> None:
    server = make_server("string", precision="us")
    run = server.add_run(status="SUCCEEDED")
    for i in range(25):
        server.add(run, [f"group {i} line {j}" for j in range(5)], step=0.0)
        server.add(run, [f"single {i}"], step=0.0007)
    async with _client(server) as api:
        events = [e for b in [b async for b in read_log(api, *_ids(server, run))] for e in b]
    assert [e.message for e in events] == server.messages(run)
    assert all(e.timestamp is not None for e in events)
    assert any(not start.endswith(".000000") for start in _slice_starts(server))


async def test_since_and_until_bound_the_slices(make_server: Any) -> None:
    server = make_server("seed", precision="us")
    run = server.add_run(status="SUCCEEDED")
    _bursts(server, run, 10)
    since = datetime(2026, 3, 1, 12, 0, 3, tzinfo=UTC)
    until = datetime(2026, 3, 1, 12, 0, 9, 300000, tzinfo=UTC)
    async with _client(server) as api:
        got = [
            e.message
            for b in [b async for b in read_log(api, *_ids(server, run), since=since, until=until)]
            for e in b
        ]
    with server.lock:
        expected = [m for when, m in server.logs[run] if since <= when < until]
    assert got == expected and got


async def test_a_log_growing_during_the_read_comes_out_in_order_once(make_server: Any) -> None:
    server = make_server("absent", precision="ms")
    run = server.add_run(status="RUNNING")
    _bursts(server, run, 6)
    before = server.messages(run)
    got: list[str] = []
    async with _client(server) as api:
        async for batch in read_log_wire(api, *_ids(server, run), workers=3):
            got += messages(batch)
            server.add(run, [f"late {len(got)} {i}" for i in range(4)], step=0.01)
    final = server.messages(run)
    assert got == final[: len(got)]
    assert len(got) > len(before)


async def test_a_server_that_ignores_start_and_end_is_read_sequentially(make_server: Any) -> None:
    server = make_server("seed", precision="us", logs_ignore_times=True)
    run = server.add_run(status="SUCCEEDED")
    _bursts(server, run, 10)
    async with _client(server) as api:
        reader = SliceReader(api, *_ids(server, run), workers=4)
        sliced = await _lines(reader.read())
        assert reader.fell_back
        assert sliced == server.messages(run)[: len(sliced)]
        server.requests.clear()
        got = await _lines(read_log_wire(api, *_ids(server, run), workers=4))
    assert got == server.messages(run)
    pages = len(got) // server.page_size + 1
    # The fallback reads on from where the slices stopped: no read of the log per slice.
    logs_requests = [r for r in server.requests if "/logs" in r]
    assert len(logs_requests) < 2 * pages + 8


def test_an_event_exactly_at_an_edge_belongs_to_the_later_slice() -> None:
    edge = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
    items = [
        {"message": "before", "timestamp": "2026-03-01T12:00:04.999999Z"},
        {"message": "at 1", "timestamp": "2026-03-01T12:00:05Z"},
        {"message": "no time", "timestamp": None},
        {"message": "at 2", "timestamp": "2026-03-01T12:00:05.000000Z"},
    ]
    kept, past_end, before_start = _clip(items, _Slice(None, edge))
    assert [i["message"] for i in kept] == ["before"] and past_end and not before_start
    kept, past_end, before_start = _clip(items, _Slice(edge, None))
    assert [i["message"] for i in kept] == ["at 1", "no time", "at 2"] and before_start


def test_the_newest_edge_is_counted_as_log_edges_counts_it() -> None:
    rng = random.Random(7)
    stamps = ["2026-03-01T12:00:05Z", "2026-03-01T12:00:05.000000Z", "2026-03-01T12:00:06Z", None]
    for _ in range(300):
        reader = SliceReader(None, "o", "d", "r")  # type: ignore[arg-type]
        expected = None
        for _ in range(rng.randint(1, 3)):
            batch = [
                {"message": "m", "timestamp": rng.choice(stamps[: rng.randint(1, 4)])}
                for _ in range(rng.randint(1, 6))
            ]
            reader._note(batch)
            expected = newest_edge(events_oldest_first(batch, newest_first=False), expected)
            assert reader.newest == expected, batch
