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


def _reader() -> LatestReader:
    return LatestReader(client=None, organization_id="1", deployment_id="2")  # type: ignore[arg-type]


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
