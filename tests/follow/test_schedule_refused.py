"""A refused connection (nothing listening: an engine restarting) is probed about every second
instead of backing off towards max_backoff, so a restart is noticed at once."""

from __future__ import annotations

import random

from runwatch.api.errors import ConnectionFailed, InternalServerError
from runwatch.follow.schedule import REFUSED_PROBE, PollSchedule, refused_connection


def make(**kwargs: float) -> PollSchedule:
    return PollSchedule(rng=random.Random(5), **kwargs)


def test_refused_connections_are_probed_about_every_second() -> None:
    schedule = make(interval=1.0, max_backoff=60.0)
    delays = [schedule.failed(refused=True) for _ in range(40)]
    assert all(REFUSED_PROBE / 2 <= d <= REFUSED_PROBE for d in delays)
    # Anything else still backs off all the way.
    other = make(interval=1.0, max_backoff=60.0)
    assert max(other.failed() for _ in range(40)) > 30.0


def test_the_probe_is_never_faster_than_the_poll_interval_nor_past_max_backoff() -> None:
    slow = make(interval=5.0, max_backoff=60.0)
    assert max(slow.failed(refused=True) for _ in range(10)) <= 5.0
    assert slow.failed(refused=True) >= 2.5
    capped = make(interval=0.1, max_backoff=0.4)
    assert max(capped.failed(refused=True) for _ in range(10)) <= 0.4


def test_a_retry_after_still_wins() -> None:
    schedule = make(interval=1.0, max_backoff=60.0)
    assert schedule.failed(retry_after=7.0, refused=True) == 7.0


def test_only_a_refused_connection_counts() -> None:
    assert refused_connection(ConnectionFailed("x", reason="connection refused"))
    assert not refused_connection(ConnectionFailed("x", reason="host not found"))
    assert not refused_connection(ConnectionFailed("x"))
    assert not refused_connection(InternalServerError("internal", "boom", status_code=500))
    assert not refused_connection(None)
