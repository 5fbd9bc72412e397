"""The adaptive poll schedule shared by the log follower, the runs poller, the TUI and the CLI.

Short intervals while something visible is still running, long ones when everything is
finished, exponential backoff with jitter while the server fails, and an immediate poll on
demand. Time comes from an injectable `Clock` so tests never sleep for real.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Protocol

from runwatch.api.errors import ConnectionFailed

# How long at most to wait before trying a server that refused the connection again. Nothing
# listens there (typically an engine restarting), so a try costs the server nothing and the
# kernel answers at once: probing every half second or so lets a follower notice the restart
# within a second, where backing off towards max_backoff would leave it blind for up to a
# minute.
REFUSED_PROBE = 0.5


def refused_connection(error: object) -> bool:
    """Was this failure a refused connection (no server listening), nothing worse?"""
    return isinstance(error, ConnectionFailed) and error.reason == "connection refused"


class Clock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: `time.monotonic` and `asyncio.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class PollSchedule:
    """Decides how long to wait before the next poll, and does the waiting.

    `busy` (how many items the last poll brought; True for some) shortens the active
    interval to `busy_interval`, so a source that is producing data is followed closely
    without hammering one that is quiet. With `flood_items`, a poll that brought at least
    that many is followed by `flood_interval` instead: a log pouring in thousands of lines a
    second cannot be read line by line anyway, and every poll costs a request and a frame
    whatever it holds, so fewer, larger batches keep the dashboard light. With
    `silent_after`, a source that has brought nothing for that long is polled every
    `silent_interval` instead of every `interval`, until a poll brings data again (the
    first busy wait): a log silent for minutes costs fewer requests, and its next line still
    shows within `silent_interval` and one round trip.
    """

    def __init__(
        self,
        *,
        interval: float = 1.0,
        idle_interval: float = 10.0,
        max_backoff: float = 60.0,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        busy_interval: float | None = None,
        silent_after: float | None = None,
        silent_interval: float | None = None,
        flood_items: int | None = None,
        flood_interval: float | None = None,
    ) -> None:
        if interval <= 0 or idle_interval <= 0 or max_backoff <= 0:
            raise ValueError("intervals must be positive")
        self.silent_after = silent_after
        self.silent_interval = max(interval, silent_interval or interval)
        # When the source last brought data (or the silence began to count): monotonic.
        self._heard: float | None = None
        self.interval = interval
        self.idle_interval = max(idle_interval, interval)
        self.max_backoff = max(max_backoff, interval)
        self.busy_interval = min(interval, 0.1) if busy_interval is None else busy_interval
        self.flood_items = flood_items
        self.flood_interval = max(self.busy_interval, flood_interval or self.busy_interval)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._rng = rng if rng is not None else random.Random()
        self.failures = 0
        # Failures that count towards the exponential backoff (refused probes do not).
        self._escalation = 0
        self._backoff = 0.0
        self._paused = False
        # Created lazily: an asyncio.Event binds to the running loop on first use, and a
        # schedule may be built before the loop that drives it exists.
        self._wake: asyncio.Event | None = None
        self._poked = False

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        was_paused = self._paused
        self._paused = value
        if was_paused and not value and self._wake is not None:
            # A waiter blocked by the pause re-evaluates; resuming polls right away so the
            # view is fresh, which is what a user coming back to a screen expects.
            self._wake.set()

    def succeeded(self) -> None:
        self.failures = 0
        self._escalation = 0
        self._backoff = 0.0

    def failed(self, retry_after: float | None = None, *, refused: bool = False) -> float:
        """Record a failed poll and return the delay chosen before the next attempt.

        `refused`: the connection was refused (see REFUSED_PROBE): the backoff stops growing at
        REFUSED_PROBE instead of max_backoff.
        """
        self.failures += 1
        cap = min(self.max_backoff, REFUSED_PROBE) if refused else None
        # Probing a refused port costs nobody anything, so it does not escalate the backoff:
        # otherwise the first 503 of an engine that is still starting, after a minute of
        # refused probes, would be waited out for max_backoff.
        if not refused:
            self._escalation += 1
        steps = max(self._escalation, 1)
        # Exponent capped so a server down for hours cannot overflow the float.
        base = min(cap or self.max_backoff, self.interval * 2.0 ** min(steps - 1, 32))
        # "Equal jitter": at least half the base, so retries stay spread out yet never
        # collapse to zero and stampede a server that is coming back.
        delay = base / 2.0 + self._rng.random() * base / 2.0
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(retry_after, self.max_backoff))
        self._backoff = delay
        return delay

    def next_delay(self, *, active: bool, busy: int = 0) -> float:
        if self.failures:
            return self._backoff
        if not active:
            return self.idle_interval
        if busy:
            if self.flood_items is not None and busy >= self.flood_items:
                return self.flood_interval
            return self.busy_interval
        if self.silent:
            return self.silent_interval
        return self.interval

    @property
    def silent(self) -> bool:
        """Has the source brought nothing for `silent_after` seconds (when set)?"""
        if self.silent_after is None or self._heard is None:
            return False
        return self.clock.monotonic() - self._heard >= self.silent_after

    def _note(self, busy: int) -> None:
        if busy or self._heard is None:
            self._heard = self.clock.monotonic()

    def restart_silence(self) -> None:
        """The source now polls something else (another run's log): its silence counts from
        the next poll, not from what the last source did."""
        self._heard = None

    def poke(self) -> None:
        """Ask for a poll now: the current or next `wait` returns immediately."""
        self._poked = True
        if self._wake is not None:
            self._wake.set()

    async def wait(self, *, active: bool, busy: int = 0, elapsed: float = 0.0) -> None:
        """Sleep until the next poll is due, a `poke`, or the end of a pause.

        `elapsed`: how long ago the round of polls that ends now began; the wait is that much
        shorter, so polls keep their cadence over a slow link (never after a failure, whose
        backoff is waited whole)."""
        if self._wake is None:
            self._wake = asyncio.Event()
        wake = self._wake
        try:
            if self._poked:
                return
            if self._paused:
                wake.clear()
                while self._paused and not self._poked:
                    await wake.wait()
                    wake.clear()
                return
            wake.clear()
            self._note(busy)
            delay = self.next_delay(active=active, busy=busy)
            if not self.failures:
                delay -= max(0.0, elapsed)
            if delay <= 0:
                return
            sleeper = asyncio.ensure_future(self.clock.sleep(delay))
            waker = asyncio.ensure_future(wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                # asyncio.wait, not `await task` under suppress(CancelledError): a Ctrl-C that
                # cancels this task during the clean-up must not be swallowed with the
                # helper's own cancellation (logs -f then ran on to the run's end).
                left = [task for task in (sleeper, waker) if not task.done()]
                for task in left:
                    task.cancel()
                if left:
                    await asyncio.wait(left)
            if self._paused and not self._poked:
                # Paused while sleeping: honour the pause before polling.
                await self.wait(active=active, busy=busy, elapsed=elapsed)
        finally:
            self._poked = False
