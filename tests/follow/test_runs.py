"""RunsPoller: diffs by run_id, reports only new runs and changed fields."""

from __future__ import annotations

from typing import Any

import pytest
from follow_fakes import FakeRunApi

from runwatch.api.errors import ApiError
from runwatch.follow.runs import RunsPoller


def wire(n: int, status: str = "RUNNING", **extra: Any) -> dict[str, Any]:
    return {
        "run_id": f"run-{n:04d}",
        "status": status,
        "deployment_id": "dep-1",
        "model_version_id": "ver-1",
        "created_at": f"2026-01-01T00:00:{n:02d}.000000Z",
        "modified_at": f"2026-01-01T00:00:{n:02d}.000000Z",
        **extra,
    }


def poller(api: FakeRunApi, **kwargs: Any) -> RunsPoller:
    return RunsPoller(api.client(), api.organization_id, api.deployment_id, **kwargs)


def ids(runs: Any) -> list[str]:
    return [run.run_id for run in runs]


async def test_first_poll_adds_the_newest_page() -> None:
    api = FakeRunApi()
    api.runs = [wire(n) for n in range(1, 6)]
    p = poller(api)
    diff = await p.poll()
    assert ids(diff.added) == ["run-0005", "run-0004", "run-0003"]
    assert p.order == ["run-0005", "run-0004", "run-0003"]
    assert p.has_more
    assert p.any_active
    assert (await p.poll()).empty


async def test_status_change_is_reported_with_its_fields() -> None:
    api = FakeRunApi()
    api.runs = [wire(1), wire(2)]
    p = poller(api)
    await p.poll()
    api.runs[0] = wire(1, "SUCCEEDED", modified_at="2026-01-01T00:01:00.000000Z")
    diff = await p.poll()
    assert diff.added == [] and diff.removed == []
    assert len(diff.changed) == 1
    change = diff.changed[0]
    assert change.run.run_id == "run-0001"
    assert change.fields == {"status", "modified_at"}
    assert p.runs["run-0001"].status == "SUCCEEDED"
    assert p.any_active  # run-0002 still running
    api.runs[1] = wire(2, "FAILED", model_version_id="ver-2")
    diff = await p.poll()
    assert diff.changed[0].fields == {"status", "version_id"}
    assert not p.any_active


async def test_new_runs_appear_on_top_and_old_ones_slide_down_without_removal() -> None:
    api = FakeRunApi()
    api.runs = [wire(n) for n in range(1, 4)]
    p = poller(api)
    await p.poll()
    api.runs += [wire(4), wire(5)]
    diff = await p.poll()
    assert ids(diff.added) == ["run-0005", "run-0004"]
    assert diff.removed == []
    assert p.order == ["run-0005", "run-0004", "run-0003", "run-0002", "run-0001"]


async def test_load_more_pages_to_the_end() -> None:
    api = FakeRunApi()
    api.runs = [wire(n) for n in range(1, 9)]
    p = poller(api)
    await p.poll()
    while p.has_more:
        await p.load_more()
    assert p.order == [f"run-{n:04d}" for n in range(8, 0, -1)]
    assert (await p.load_more()).empty


async def test_a_deleted_run_is_removed() -> None:
    api = FakeRunApi()
    api.runs = [wire(n) for n in range(1, 5)]
    p = poller(api)
    await p.poll()
    del api.runs[2]  # run-0003 vanishes; run-0001 now fits in the page
    diff = await p.poll()
    assert diff.removed == ["run-0003"]
    assert ids(diff.added) == ["run-0001"]
    assert "run-0003" not in p.runs
    assert p.order == ["run-0004", "run-0002", "run-0001"]


async def test_oldest_first_refreshes_every_loaded_page() -> None:
    api = FakeRunApi()
    api.runs = [wire(n) for n in range(1, 6)]
    p = poller(api, scan_forward=True)
    await p.poll()
    await p.load_more()
    assert p.order == [f"run-{n:04d}" for n in range(1, 6)]
    assert not p.has_more
    api.runs.append(wire(6))
    api.runs[4] = wire(5, "SUCCEEDED")
    diff = await p.poll()
    assert ids(diff.added) == ["run-0006"]
    assert [c.run.run_id for c in diff.changed] == ["run-0005"]
    assert p.order[-1] == "run-0006"


async def test_reset_switches_the_order() -> None:
    api = FakeRunApi()
    api.runs = [wire(n) for n in range(1, 3)]
    p = poller(api)
    await p.poll()
    p.reset(scan_forward=True)
    assert p.runs == {} and p.order == []
    await p.poll()
    assert p.order == ["run-0001", "run-0002"]


async def test_malformed_entries_are_skipped() -> None:
    api = FakeRunApi()
    api.runs = [wire(1), {"no": "id"}, wire(2)]
    api.runs_page_size = 10
    p = poller(api)
    diff = await p.poll()
    assert ids(diff.added) == ["run-0002", "run-0001"]


async def test_errors_leave_the_state_untouched() -> None:
    api = FakeRunApi()
    api.runs = [wire(1)]
    p = poller(api)
    await p.poll()
    api.faults[len(api.requests) + 1] = "503"
    with pytest.raises(ApiError):
        await p.poll()
    assert p.order == ["run-0001"]
    assert (await p.poll()).empty
