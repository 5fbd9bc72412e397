"""A refused connection (nothing listening: an engine restarting) is probed every half second or
so instead of backing off towards max_backoff, so a restart is noticed at once."""

from __future__ import annotations

import random

from runwatch.api.errors import ConnectionFailed, InternalServerError
from runwatch.follow.schedule import REFUSED_PROBE, PollSchedule, refused_connection


def make(**kwargs: float) -> PollSchedule:
    return PollSchedule(rng=random.Random(5), **kwargs)


def test_refused_connections_are_probed_every_half_second() -> None:
    schedule = make(interval=1.0, max_backoff=60.0)
    delays = [schedule.failed(refused=True) for _ in range(40)]
    assert all(REFUSED_PROBE / 2 <= d <= REFUSED_PROBE for d in delays)
    # Anything else still backs off all the way.
    other = make(interval=1.0, max_backoff=60.0)
    assert max(other.failed() for _ in range(40)) > 30.0


def test_the_probe_ignores_a_long_poll_interval_but_not_a_smaller_max_backoff() -> None:
    # A refused connection costs nobody anything: even a gentle 10 s poller probes it often.
    slow = make(interval=10.0, max_backoff=60.0)
    assert max(slow.failed(refused=True) for _ in range(10)) <= REFUSED_PROBE
    capped = make(interval=0.1, max_backoff=0.3)
    assert max(capped.failed(refused=True) for _ in range(10)) <= 0.3


def test_refused_probes_do_not_escalate_the_next_failure() -> None:
    # A minute of refused probes (an engine restarting), then its first 503 while it starts:
    # backed off like a first failure (0.5-1 s), not for max_backoff.
    schedule = make(interval=1.0, max_backoff=60.0)
    for _ in range(120):
        schedule.failed(refused=True)
    assert schedule.failed() <= 1.0
    assert 1.0 <= schedule.failed() <= 2.0  # and from there it escalates as usual


def test_a_retry_after_still_wins() -> None:
    schedule = make(interval=1.0, max_backoff=60.0)
    assert schedule.failed(retry_after=7.0, refused=True) == 7.0


def test_only_a_refused_connection_counts() -> None:
    assert refused_connection(ConnectionFailed("x", reason="connection refused"))
    assert not refused_connection(ConnectionFailed("x", reason="host not found"))
    assert not refused_connection(ConnectionFailed("x"))
    assert not refused_connection(InternalServerError("internal", "boom", status_code=500))
    assert not refused_connection(None)
