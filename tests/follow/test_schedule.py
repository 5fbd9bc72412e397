"""PollSchedule: intervals, backoff with jitter, poke and pause, all on a fake clock."""

from __future__ import annotations

import asyncio
import random

import pytest
from follow_fakes import BlockingClock, FakeClock

from runwatch.follow.schedule import PollSchedule, SystemClock


def make(clock: FakeClock, **kwargs: float) -> PollSchedule:
    return PollSchedule(clock=clock, rng=random.Random(7), **kwargs)


def test_active_idle_and_busy_intervals(clock: FakeClock) -> None:
    schedule = make(clock, interval=2.0, idle_interval=20.0, busy_interval=0.05)
    assert schedule.next_delay(active=True) == 2.0
    assert schedule.next_delay(active=False) == 20.0
    assert schedule.next_delay(active=True, busy=True) == 0.05


def test_a_flood_is_polled_at_its_own_slower_pace(clock: FakeClock) -> None:
    schedule = make(clock, interval=1.0, busy_interval=0.25, flood_items=100, flood_interval=0.5)
    assert schedule.next_delay(active=True, busy=1) == 0.25
    assert schedule.next_delay(active=True, busy=True) == 0.25
    assert schedule.next_delay(active=True, busy=99) == 0.25
    assert schedule.next_delay(active=True, busy=100) == 0.5
    assert schedule.next_delay(active=True, busy=0) == 1.0
    # Never faster than the busy pace, whatever it is given; no flood pace unless asked.
    assert (
        make(clock, busy_interval=0.25, flood_items=1, flood_interval=0.1).next_delay(
            active=True, busy=5
        )
        == 0.25
    )
    assert make(clock, busy_interval=0.25).next_delay(active=True, busy=10**6) == 0.25


def test_idle_interval_is_never_shorter_than_the_active_one(clock: FakeClock) -> None:
    schedule = make(clock, interval=5.0, idle_interval=1.0)
    assert schedule.next_delay(active=False) == 5.0


def test_backoff_grows_exponentially_with_jitter_and_is_capped(clock: FakeClock) -> None:
    schedule = make(clock, interval=1.0, max_backoff=8.0)
    delays = [schedule.failed() for _ in range(8)]
    bases = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0]
    for delay, base in zip(delays, bases, strict=True):
        assert base / 2 <= delay <= base
    assert schedule.failures == 8
    assert schedule.next_delay(active=False) == delays[-1]
    # Jitter: the capped delays are not all the same value.
    assert len(set(delays[3:])) > 1


def test_success_resets_backoff(clock: FakeClock) -> None:
    schedule = make(clock, interval=1.0)
    schedule.failed()
    schedule.failed()
    schedule.succeeded()
    assert schedule.failures == 0
    assert schedule.next_delay(active=True) == 1.0


def test_retry_after_is_respected_up_to_the_cap(clock: FakeClock) -> None:
    schedule = make(clock, interval=1.0, max_backoff=30.0)
    assert schedule.failed(retry_after=12.0) == 12.0
    assert schedule.failed(retry_after=600.0) == 30.0


def test_backoff_survives_very_many_failures(clock: FakeClock) -> None:
    schedule = make(clock, interval=1.0, max_backoff=60.0)
    for _ in range(5000):
        delay = schedule.failed()
    assert 30.0 <= delay <= 60.0


def test_rejects_non_positive_intervals() -> None:
    with pytest.raises(ValueError):
        PollSchedule(interval=0)


async def test_wait_sleeps_the_chosen_delay(clock: FakeClock) -> None:
    schedule = make(clock, interval=1.5, idle_interval=9.0)
    await schedule.wait(active=True)
    await schedule.wait(active=False)
    schedule.failed()
    await schedule.wait(active=True)
    assert clock.sleeps[:2] == [1.5, 9.0]
    assert 0.75 <= clock.sleeps[2] <= 1.5
    assert clock.now == pytest.approx(sum(clock.sleeps))


async def test_poke_before_wait_returns_immediately(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.poke()
    await schedule.wait(active=True)
    assert clock.sleeps == []
    # The poke is consumed: the next wait sleeps again.
    await schedule.wait(active=True)
    assert clock.sleeps == [1.0]


async def test_poke_interrupts_a_wait_in_progress() -> None:
    clock = BlockingClock()
    schedule = make(clock)
    waiter = asyncio.create_task(schedule.wait(active=False))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not waiter.done()
    schedule.poke()
    await asyncio.wait_for(waiter, 1.0)
    assert clock.sleeps == [10.0]


async def test_pause_blocks_until_resumed_or_poked() -> None:
    clock = BlockingClock()
    schedule = make(clock)
    schedule.paused = True
    waiter = asyncio.create_task(schedule.wait(active=True))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done()
    assert clock.sleeps == []  # paused: not even sleeping an interval
    schedule.paused = False
    await asyncio.wait_for(waiter, 1.0)

    schedule.paused = True
    waiter = asyncio.create_task(schedule.wait(active=True))
    await asyncio.sleep(0)
    schedule.poke()
    await asyncio.wait_for(waiter, 1.0)
    assert schedule.paused


async def test_pause_during_a_sleep_is_honoured() -> None:
    clock = BlockingClock()
    schedule = make(clock)
    waiter = asyncio.create_task(schedule.wait(active=True))
    await asyncio.sleep(0)
    schedule.paused = True
    schedule._wake.set()  # type: ignore[union-attr]  # simulate the sleep ending
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done()
    schedule.paused = False
    await asyncio.wait_for(waiter, 1.0)


async def test_cancelling_a_wait_cleans_up() -> None:
    clock = BlockingClock()
    schedule = make(clock)
    waiter = asyncio.create_task(schedule.wait(active=True))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # Still usable afterwards.
    schedule.poke()
    await asyncio.wait_for(schedule.wait(active=True), 1.0)


async def test_system_clock_sleeps_for_real_briefly() -> None:
    clock = SystemClock()
    start = clock.monotonic()
    await clock.sleep(0.01)
    assert clock.monotonic() - start >= 0.009


async def test_a_silent_source_is_polled_less_until_it_brings_data_again(clock: FakeClock) -> None:
    schedule = PollSchedule(
        clock=clock, interval=1.0, busy_interval=0.25, silent_after=30.0, silent_interval=2.5
    )
    await schedule.wait(active=True, busy=True)  # data: the silence counts from here
    for _ in range(32):
        await schedule.wait(active=True)
    # 30 s of nothing at the pace of `interval`, then the slower pace.
    assert clock.sleeps == [0.25] + [1.0] * 30 + [2.5, 2.5]
    # The first data brings the busy pace back at once, and the silence starts again.
    await schedule.wait(active=True, busy=True)
    await schedule.wait(active=True)
    assert clock.sleeps[-2:] == [0.25, 1.0]
    # Everything finished: the idle interval, silent or not.
    assert schedule.next_delay(active=False) == 10.0


async def test_a_new_source_starts_its_silence_afresh(clock: FakeClock) -> None:
    schedule = PollSchedule(clock=clock, interval=1.0, silent_after=3.0, silent_interval=2.5)
    for _ in range(5):
        await schedule.wait(active=True)
    assert clock.sleeps[-1] == 2.5
    schedule.restart_silence()  # another run's log
    await schedule.wait(active=True)
    assert clock.sleeps[-1] == 1.0


async def test_without_silent_after_the_pace_never_slows(clock: FakeClock) -> None:
    # What `logs -f` and every source but the dashboard's log use.
    schedule = make(clock, interval=1.0)
    for _ in range(100):
        await schedule.wait(active=True)
    assert set(clock.sleeps) == {1.0}
