"""Fakes shared by the follow tests (imported by module name: tests dirs are not packages)."""

from __future__ import annotations

import asyncio


class FakeClock:
    """A clock whose sleeps advance virtual time at once and are recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        # Yield once so a task cancelling this sleep still gets a chance to run.
        await asyncio.sleep(0)


class BlockingClock(FakeClock):
    """A clock whose sleeps never end by themselves: only a poke or a pause change wakes a wait."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.Event().wait()
