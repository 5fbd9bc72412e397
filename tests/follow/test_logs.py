"""LogFollower against a fake recentlogs server (httpx.MockTransport): exactly once, in order."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta

import pytest
from follow_fakes import EPOCH, FakeClock, FakeRunApi

from runwatch.api.errors import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    HttpError,
    NotFound,
)
from runwatch.api.models import LogEvent
from runwatch.follow.logs import LogFollower
from runwatch.follow.schedule import PollSchedule


def texts(events: list[LogEvent]) -> list[str]:
    return [event.message for event in events]


def follower(api: FakeRunApi, **kwargs: object) -> LogFollower:
    return LogFollower(api.client(), api.organization_id, api.deployment_id, api.run_id, **kwargs)  # type: ignore[arg-type]


def schedule(clock: FakeClock) -> PollSchedule:
    return PollSchedule(
        interval=1.0, idle_interval=10.0, max_backoff=8.0, clock=clock, rng=random.Random(1)
    )


def recent_requests(api: FakeRunApi) -> int:
    return sum(1 for r in api.requests if r.url.path.endswith("/recentlogs"))


async def test_first_poll_is_the_newest_page_then_only_new_events() -> None:
    api = FakeRunApi(page_size=10)
    api.add_lines(25)
    f = follower(api)
    assert texts(await f.poll()) == api.messages[15:]
    assert f.caught_up
    assert await f.poll() == []
    api.add("a", "b", "c")
    assert texts(await f.poll()) == ["a", "b", "c"]
    assert f.delivered == 13


async def test_empty_log_is_at_start() -> None:
    api = FakeRunApi(page_size=10)
    f = follower(api, from_start=True)
    assert await f.poll() == []
    assert f.at_start
    api.add("first")
    assert texts(await f.poll()) == ["first"]


async def test_from_start_pages_back_to_the_first_event() -> None:
    api = FakeRunApi(page_size=10)
    api.add_lines(47)
    f = follower(api, from_start=True)
    assert texts(await f.poll()) == api.messages
    assert f.at_start
    assert await f.older() == []


async def test_tail_keeps_the_newest_n_and_older_hands_out_the_rest() -> None:
    api = FakeRunApi(page_size=10)
    api.add_lines(25)
    f = follower(api, tail=13)
    assert texts(await f.poll()) == api.messages[12:]
    assert texts(await f.older()) == api.messages[5:12]
    assert texts(await f.older()) == api.messages[0:5]
    assert not f.at_start
    assert await f.older() == []
    assert f.at_start


async def test_tail_zero_gives_only_new_events() -> None:
    api = FakeRunApi(page_size=10)
    api.add_lines(5)
    f = follower(api, tail=0)
    assert await f.poll() == []
    api.add("new")
    assert texts(await f.poll()) == ["new"]


async def test_since_starts_at_a_time() -> None:
    api = FakeRunApi(page_size=4)
    api.add_lines(30)
    f = follower(api, since=EPOCH + timedelta(seconds=7))
    assert texts(await f.poll()) == api.messages[7:]


async def test_backward_paging_reaches_the_start_exactly_once() -> None:
    api = FakeRunApi(page_size=7)
    api.add_lines(50)
    f = follower(api)
    loaded = texts(await f.poll())
    while not f.at_start:
        loaded = texts(await f.older()) + loaded
    assert loaded == api.messages


async def test_a_burst_larger_than_a_page_is_drained_in_one_poll() -> None:
    api = FakeRunApi(page_size=10)
    f = follower(api)
    await f.poll()
    before = recent_requests(api)
    api.add_lines(95)
    assert texts(await f.poll()) == api.messages
    # 10 pages of events; the last, short of a full page, says the end was reached.
    assert recent_requests(api) - before == 10
    assert f.caught_up


async def test_max_pages_per_poll_bounds_a_poll_without_losing_anything() -> None:
    api = FakeRunApi(page_size=10)
    f = follower(api, max_pages_per_poll=3)
    await f.poll()
    api.add_lines(95)
    got = texts(await f.poll())
    assert got == api.messages[:30]
    assert not f.caught_up
    while not f.caught_up:
        got += texts(await f.poll())
    assert got == api.messages


@pytest.mark.parametrize("fault", ["503", "500", "drop", "connect"])
async def test_a_failure_in_the_middle_of_a_burst_loses_and_repeats_nothing(fault: str) -> None:
    api = FakeRunApi(page_size=10)
    f = follower(api)
    await f.poll()
    api.add_lines(95)
    api.faults[len(api.requests) + 5] = fault  # the 5th page of the burst fails
    with pytest.raises(ApiError) as info:
        await f.poll()
    if fault in ("drop", "connect"):
        assert isinstance(info.value, ConnectionFailed)
    else:
        assert isinstance(info.value, HttpError)
    assert f.delivered == 0
    got = texts(await f.poll())
    assert got == api.messages


async def test_a_failure_on_the_first_poll_and_while_backfilling() -> None:
    api = FakeRunApi(page_size=5)
    api.add_lines(23)
    f = follower(api, from_start=True)
    api.faults = {1: "503", 3: "drop", 5: "500"}
    got: list[str] = []
    for _ in range(10):
        try:
            got += texts(await f.poll())
        except ApiError:
            continue
        if f.caught_up:
            break
    assert got == api.messages


@pytest.mark.parametrize("seed", range(40))
async def test_random_growth_and_faults_deliver_every_event_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    api = FakeRunApi(page_size=rng.choice([2, 3, 10, 50]))
    api.add_lines(rng.randrange(0, 40))

    def grow(server: FakeRunApi, n: int) -> None:
        if rng.random() < 0.3 and len(server.events) < 400:
            server.add_lines(rng.choice([1, 2, 5, 60]))
        if rng.random() < 0.2:
            server.faults[n] = rng.choice(["503", "drop", "429", "connect"])

    api.on_request = grow
    f = follower(api, from_start=rng.random() < 0.5)
    got: list[str] = []
    for _ in range(60):
        with contextlib.suppress(ApiError):
            got += texts(await f.poll())
    api.on_request = None
    while True:
        got += texts(await f.poll())
        if f.caught_up:
            break
    if f.from_start:
        assert got == api.messages
    else:
        # Started at the newest page: a contiguous, duplicate-free suffix of the log.
        assert got == api.messages[len(api.messages) - len(got) :]
        assert len(set(got)) == len(got)


async def test_follow_stops_when_the_run_is_terminal_and_drained(clock: FakeClock) -> None:
    api = FakeRunApi(page_size=100)

    def script(server: FakeRunApi, n: int) -> None:
        # Bursts of 1000 lines between pauses, then the run ends.
        if n in (2, 6, 12):
            server.add_lines(1000)
        if n == 20:
            server.add_lines(7)
            server.status = "SUCCEEDED"

    api.on_request = script
    f = follower(api, from_start=True)
    got: list[str] = []
    batches = 0
    async for batch in f.follow(schedule(clock)):
        batches += 1
        got += texts(batch)
    assert got == api.messages
    assert len(got) == 3007
    assert f.done
    assert f.status == "SUCCEEDED"
    # Never an interval per page: only quiet polls are followed by a sleep.
    assert len(clock.sleeps) < 12


async def test_follow_retries_failures_with_backoff_and_reports_them(clock: FakeClock) -> None:
    api = FakeRunApi(page_size=10)

    def script(server: FakeRunApi, n: int) -> None:
        if n == 3:
            server.add_lines(55)
        if n == 30:
            server.status = "FAILED"

    api.on_request = script
    api.faults = {4: "503", 5: "drop", 6: "connect", 9: "503", 15: "500"}
    errors: list[tuple[str, float]] = []
    f = follower(api, from_start=True)
    got: list[str] = []
    async for batch in f.follow(
        schedule(clock), on_error=lambda e, d: errors.append((type(e).__name__, d))
    ):
        got += texts(batch)
    assert got == api.messages
    assert f.status == "FAILED"
    assert [name for name, _ in errors][:3] == ["HttpError", "ConnectionFailed", "ConnectionFailed"]
    # Backoff grows while the failures last.
    assert errors[1][1] > errors[0][1] / 2
    assert all(0 < delay <= 8.0 for _, delay in errors)


async def test_follow_raises_fatal_errors(clock: FakeClock) -> None:
    api = FakeRunApi()
    api.faults = {1: "404"}
    f = follower(api)
    with pytest.raises(NotFound):
        async for _ in f.follow(schedule(clock)):
            pass


async def test_a_rejected_token_is_fatal(clock: FakeClock) -> None:
    api = FakeRunApi()
    f = follower(api)
    await f.poll()
    f._forward = "garbage"
    with pytest.raises(BadRequest):
        async for _ in f.follow(schedule(clock)):
            pass


async def test_external_status_means_no_get_run(clock: FakeClock) -> None:
    api = FakeRunApi(page_size=10)
    api.add_lines(12)
    f = follower(api, from_start=True)
    f.set_run_status("SUCCEEDED")
    got: list[str] = []
    async for batch in f.follow(schedule(clock)):
        got += texts(batch)
    assert got == api.messages
    assert not any(r.url.path.endswith("/run-1") for r in api.requests)


async def test_terminal_status_learnt_mid_poll_needs_one_more_poll(clock: FakeClock) -> None:
    api = FakeRunApi(page_size=10)
    f = follower(api)
    await f.poll()

    def finish(server: FakeRunApi, n: int) -> None:
        # The status arrives while a poll is in flight: that poll cannot count as the last.
        f.set_run_status("SUCCEEDED")
        server.add("late line")
        server.on_request = None

    api.on_request = finish
    assert texts(await f.poll()) == ["late line"]
    assert not f.done
    assert await f.poll() == []
    assert f.done


@pytest.mark.parametrize(
    "item",
    [
        {"message": "a", "timestamp": "2026-01-01T00:00:00.000001Z"},
        {"message": "a", "timestamp": "2026-01-01T00:00:00Z"},
        {"message": "tz", "timestamp": "2026-01-01T09:00:00+09:00"},
        {"message": "bad", "timestamp": "garbageZ"},
        {"message": "no zone", "timestamp": "2026-01-01T00:00:00"},
        {"message": 42, "timestamp": "2026-01-01T00:00:00Z"},
        {"message": None},
        {"timestamp": 5},
        {},
    ],
)
def test_the_fast_event_path_matches_from_wire(item: dict[str, object]) -> None:
    from runwatch.follow.log_source import events_oldest_first

    assert events_oldest_first([item], newest_first=True) == [LogEvent.from_wire(item)]


_ODD_EVENTS = [
    {"message": "tz", "timestamp": "2026-01-01T09:00:00+09:00"},
    {"message": "utc offset", "timestamp": "2026-01-01T00:00:00+00:00"},
    {"message": "bad", "timestamp": "garbageZ"},
    {"message": "padded", "timestamp": " 2026-01-01T00:00:00Z"},
    {"message": "no zone", "timestamp": "2026-01-01T00:00:00"},
    {"message": "a date", "timestamp": "2026-01-01"},
    {"message": 42, "timestamp": "2026-01-01T00:00:00Z"},
    {"message": {"nested": [1]}, "timestamp": "2026-01-01T00:00:00Z"},
    {"message": "no time"},
    {"timestamp": 5},
    {},
]


@pytest.mark.parametrize("newest_first", [True, False])
def test_a_page_is_read_as_from_wire_reads_each_event(newest_first: bool) -> None:
    # A page of usual events is read a column at a time; one odd event among them sends the
    # page event by event. Either way each event is from_wire's, its time's zone included
    # (== alone would take 09:00+09:00 for 00:00Z).
    from runwatch.api.errors import ResponseShapeError
    from runwatch.follow.log_source import events_oldest_first

    usual = [{"message": f"line {i}", "timestamp": f"2026-01-01T00:00:0{i}.5Z"} for i in range(3)]
    for page in [usual, *([usual[0], odd, usual[1]] for odd in _ODD_EVENTS)]:
        got = events_oldest_first(page, newest_first=newest_first)
        expected = [LogEvent.from_wire(item) for item in page]
        if newest_first:
            expected.reverse()
        assert got == expected
        assert [type(e) for e in got] == [LogEvent] * len(page)
        assert [e.timestamp and e.timestamp.tzinfo for e in got] == [
            e.timestamp and e.timestamp.tzinfo for e in expected
        ]
    with pytest.raises(ResponseShapeError):
        events_oldest_first([*usual, "a line"], newest_first=newest_first)


def test_a_page_that_is_not_a_list_is_a_shape_error() -> None:
    from runwatch.api.errors import ResponseShapeError
    from runwatch.follow.log_source import events_oldest_first

    with pytest.raises(ResponseShapeError):
        events_oldest_first(["not an object"], newest_first=True)


async def test_a_busy_log_does_not_ask_for_the_status_after_every_poll(clock: FakeClock) -> None:
    api = FakeRunApi(page_size=100)

    def trickle(server: FakeRunApi, n: int) -> None:
        # Lines before every other page request: each poll finds some, then reaches the end.
        if n < 200 and recent_requests(server) % 2:
            server.add_lines(3)
        if n >= 200:
            server.status = "SUCCEEDED"

    api.on_request = trickle
    f = follower(api, from_start=True)
    got: list[str] = []
    async for batch in f.follow(schedule(clock)):
        got += texts(batch)
    assert got == api.messages
    status_requests = sum(1 for r in api.requests if r.url.path.endswith("/run-1"))
    polls = len(clock.sleeps)
    assert polls > 50
    # Busy polls are spaced by the short interval; the status is asked about once a second.
    assert status_requests <= clock.now / 1.0 + 2


async def test_a_flood_is_followed_at_the_flood_pace_and_a_trickle_at_the_busy_one(
    clock: FakeClock,
) -> None:
    api = FakeRunApi(page_size=1000)
    # Lines written during each wait: 300 and 150 are floods, 2 and 1 a trickle.
    during = [300, 2, 0, 150, 1, 0]
    added = 0

    def pour(server: FakeRunApi, n: int) -> None:
        nonlocal added
        while added < len(clock.sleeps):
            if added < len(during):
                server.add_lines(during[added])
            else:
                server.status = "SUCCEEDED"
            added += 1

    api.add_lines(5)
    api.on_request = pour
    pace = PollSchedule(
        interval=1.0,
        busy_interval=0.25,
        flood_items=100,
        flood_interval=0.5,
        clock=clock,
        rng=random.Random(1),
    )
    f = follower(api)
    sizes = [len(batch) async for batch in f.follow(pace)]
    assert sizes[:7] == [5, 300, 2, 0, 150, 1, 0]
    # After each batch, its pace: 5, 2 and 1 lines the busy one, 300 and 150 the flood's, none
    # the interval.
    assert clock.sleeps[:7] == [0.25, 0.5, 0.25, 1.0, 0.5, 0.25, 1.0]
