"""Follow lag over a slow link: a batch is handed out as it arrives, and polls keep their
interval however long a round trip takes (the wait is the interval less the poll's time)."""

from __future__ import annotations

import random

from follow_fakes import FakeClock, FakeRunApi

from runwatch.follow.logs import LogFollower
from runwatch.follow.schedule import PollSchedule

ROUND_TRIP = 0.3


async def test_polls_keep_their_interval_over_a_slow_link() -> None:
    clock = FakeClock()
    api = FakeRunApi([f"line {i}" for i in range(25)], page_size=10)
    sent: list[float] = []
    polls = 0

    def on_request(fake: FakeRunApi, n: int) -> None:
        nonlocal polls
        sent.append(clock.now)
        clock.now += ROUND_TRIP  # every request costs a round trip of virtual time
        if "recentlogs" in str(fake.requests[-1].url):
            polls += 1
            if polls == 4:
                fake.add("late line")
            if polls == 6:
                fake.status = "SUCCEEDED"

    api.on_request = on_request
    schedule = PollSchedule(
        interval=1.0, idle_interval=10.0, max_backoff=8.0, clock=clock, rng=random.Random(1)
    )
    follower = LogFollower(
        api.client(), api.organization_id, api.deployment_id, api.run_id, from_start=True
    )
    got: list[str] = []
    async for batch in follower.follow(schedule):
        got += [event.message for event in batch]
        assert len(sent) < 60
    assert got == [f"line {i}" for i in range(25)] + ["late line"]
    # A quiet round (a poll and a status request) waits the interval less its two round trips.
    assert clock.sleeps and max(clock.sleeps) <= 1.0 - 2 * ROUND_TRIP + 1e-9
    assert min(s for s in clock.sleeps if s > 0.2) >= 1.0 - 2 * ROUND_TRIP - 1e-9
