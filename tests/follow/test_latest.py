"""A run's latest progress and metric values from its newest page, and which runs are read."""

from __future__ import annotations

from runwatch.api.models import LogEvent, Run
from runwatch.follow.latest import Latest, LatestReader, latest_of
from tests.bench.bench_tui_table import make_run


def _events(*messages: str) -> list[LogEvent]:
    return [LogEvent(message, None, "") for message in messages]


def test_the_newest_progress_state_and_each_metrics_last_value() -> None:
    latest = latest_of(
        _events(
            '{"step": 1, "loss": 0.9}',
            " 10%|#         | 1/10 [00:01<00:09,  1.00it/s]",
            "step=2 loss=0.5 lr=0.1",
            " 20%|##        | 2/10 [00:02<00:08,  1.00it/s]",
            "done with a batch",
        )
    )
    assert latest.progress is not None and latest.progress.short() == "20% eta 00:08"
    assert latest.metrics == {"loss": 0.5, "lr": 0.1}
    assert latest_of(_events("nothing here")) == Latest()


def test_a_profiles_custom_format_is_read_for_the_table() -> None:
    line = "epoch 3 | objective 0.25 | 12 samples"
    assert latest_of(_events(line)).metrics == {}
    custom = latest_of(_events(line), metric_pattern=r"objective (?P<objective>[\d.]+)")
    assert custom.metrics == {"objective": 0.25}


def _reader(gap: float = 0.0, clock: list[float] | None = None) -> LatestReader:
    now = clock or [0.0]
    return LatestReader(
        client=None,  # type: ignore[arg-type]
        organization_id="1",
        deployment_id="2",
        gap=gap,
        clock=lambda: now[0],
    )


def _run(index: int, status: str) -> Run:
    return make_run(index, status=status)


def test_finished_runs_are_read_once_running_ones_each_refresh_queued_ones_never() -> None:
    reader = _reader()
    running, done, queued = _run(1, "RUNNING"), _run(2, "SUCCEEDED"), _run(3, "PENDING")
    runs = [running, done, queued]
    # Progress alone: only the running run.
    assert reader.due(runs, metrics_wanted=False) == [running]
    assert reader.due(runs, metrics_wanted=True) == [running, done]
    reader.known[done.run_id] = Latest(finished=True)
    reader.known[running.run_id] = Latest(finished=False)
    assert reader.due(runs, metrics_wanted=True) == [running]
    # The running run finished since its last read: one more read, for its final lines.
    ended = _run(1, "FAILED")
    assert reader.due([ended, done], metrics_wanted=True) == [ended]


async def test_a_running_run_is_read_after_the_gap_then_only_its_new_lines() -> None:
    clock = [100.0]
    reader = _reader(gap=3.0, clock=clock)
    running = _run(1, "RUNNING")
    calls: list[dict[str, object]] = []

    class Client:  # one page, then nothing new; the Pilot tests read real logs from the engine
        async def get_run_recent_logs(self, *args: object, **kwargs: object) -> dict[str, object]:
            calls.append(kwargs)
            new = len(calls) == 1
            events = [{"message": "step=1 loss=0.5", "timestamp": 1}] if new else []
            return {"events": events, "next_forward_token": f"f{len(calls)}"}

    reader.client = Client()  # type: ignore[assignment]
    assert reader.due([running], metrics_wanted=True) == [running]
    assert (await reader.read(running)).metrics == {"loss": 0.5}
    clock[0] += 2.9
    assert reader.due([running], metrics_wanted=True) == []
    clock[0] += 0.2
    assert reader.due([running], metrics_wanted=True) == [running]
    # The follower asks only for what came since (its forward token): nothing, values stay.
    first = len(calls)
    assert (await reader.read(running)).metrics == {"loss": 0.5}
    assert len(calls) == first + 1 and calls[-1]["next_forward_token"] == f"f{first}"


async def test_a_silent_running_run_is_read_less_often_until_it_prints_again() -> None:
    from runwatch.follow.latest import SILENT_AFTER, SILENT_GAPS

    clock = [100.0]
    reader = _reader(gap=3.0, clock=clock)
    running = _run(1, "RUNNING")
    pages: list[list[str]] = [["step=1 loss=0.5"]]

    class Client:
        async def get_run_recent_logs(self, *args: object, **kwargs: object) -> dict[str, object]:
            lines = pages.pop(0) if pages else []
            events = [{"message": line, "timestamp": 1} for line in lines]
            return {"events": events, "next_forward_token": f"f{clock[0]}"}

    reader.client = Client()  # type: ignore[assignment]

    async def reads_over(seconds: float) -> int:
        count = 0
        end = clock[0] + seconds
        while clock[0] < end:
            clock[0] += 0.5
            if reader.due([running], metrics_wanted=False):
                await reader.read(running)
                count += 1
        return count

    # Silent from its first read on: every gap until SILENT_AFTER, then every SILENT_GAPS.
    assert await reads_over(SILENT_AFTER) == SILENT_AFTER // 3
    assert await reads_over(120) == 120 // (3 * SILENT_GAPS)
    # It prints: the read that brings the line restores the gap at once.
    pages.append(["step=2 loss=0.4"])
    assert await reads_over(3 * SILENT_GAPS) == 1
    assert (reader.known[running.run_id]).metrics == {"loss": 0.4}
    assert await reads_over(12) == 4
