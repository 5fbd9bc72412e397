"""RunWatcher.confirm: another poll's copy of the run spares fetches only while unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from follow_fakes import FakeClock, FakeRunApi

from runwatch.api.models import Run
from runwatch.follow.run_watch import RunWatcher
from runwatch.follow.schedule import PollSchedule


class HookedClock(FakeClock):
    """Each sleep first runs `hook` (another poll answering while the watcher waits)."""

    def __init__(self, hook: Callable[[int], None]) -> None:
        super().__init__()
        self.hook = hook

    async def sleep(self, seconds: float) -> None:
        self.hook(len(self.sleeps))
        await super().sleep(seconds)


def run_fetches(api: FakeRunApi) -> int:
    return sum(1 for r in api.requests if r.url.path.endswith(f"/runs/{api.run_id}"))


async def watch(api: FakeRunApi, hook: Callable[[RunWatcher, int], None], runs: int) -> list[Run]:
    watcher = RunWatcher(api.client(), api.organization_id, api.deployment_id, api.run_id)
    clock = HookedClock(lambda n: hook(watcher, n))
    seen: list[Run] = []
    async for run in watcher.watch(PollSchedule(clock=clock, interval=1.0)):
        seen.append(run)
        if len(seen) == runs:
            break
    return seen


def copy(api: FakeRunApi, **changes: Any) -> Run:
    return Run.from_wire({**api.run_wire(), **changes})


async def test_an_unchanged_copy_from_the_runs_list_spares_the_next_fetch() -> None:
    api = FakeRunApi()
    sleeps: list[int] = []

    def hook(watcher: RunWatcher, n: int) -> None:
        sleeps.append(n)
        if n < 4:  # the list saw the run unchanged during each of the first four waits
            watcher.confirm(copy(api))

    seen = await watch(api, hook, runs=2)
    assert len(seen) == 2
    # The list's copies spared the fetches until FRESH_FOR (2) intervals after the last.
    assert sleeps == [0, 1, 2, 3, 4]
    assert run_fetches(api) == 2


async def test_a_changed_copy_leaves_the_fetch_due() -> None:
    api = FakeRunApi()

    def hook(watcher: RunWatcher, n: int) -> None:
        # Another run, a copy without modified_at, an older one: none says "unchanged".
        watcher.confirm(copy(api, run_id="run-2"))
        watcher.confirm(copy(api, modified_at=None))
        watcher.confirm(copy(api, modified_at="2026-01-01T00:00:04.000000Z"))
        # The list saw the run finish: the watcher fetches it after this one interval.
        api.status = "SUCCEEDED"
        watcher.confirm(copy(api))

    seen = await watch(api, hook, runs=3)
    assert [run.status for run in seen] == ["RUNNING", "SUCCEEDED"]
    assert run_fetches(api) == 2
