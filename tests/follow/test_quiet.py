"""Quiet runs (`follow/quiet.py`): labels, one notification per quiet spell, light checks
bounded (the light check against the engine is in tests/tui/test_failure_and_quiet.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runwatch.api.models import Run
from runwatch.follow.quiet import MAX_CHECKS, QuietRuns, quiet_label

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(run_id: str, status: str = "RUNNING") -> Run:
    return Run.from_wire(
        {"run_id": run_id, "status": status, "modified_at": "2026-01-01T00:00:00.000000Z"}
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_labels() -> None:
    assert quiet_label(599) == "quiet 9m"
    assert quiet_label(12 * 60 + 59) == "quiet 12m"
    assert quiet_label(2 * 3600 + 5 * 60) == "quiet 2h05m"


def test_one_notification_per_quiet_spell() -> None:
    quiet = QuietRuns(after=600)
    quiet.track([run("a"), run("done", "SUCCEEDED")])
    quiet.saw_line("a", at(1))
    assert quiet.labels(at(10)) == {} and quiet.newly_quiet(at(10)) == []
    assert quiet.labels(at(11)) == {"a": "quiet 10m"}
    assert quiet.newly_quiet(at(11)) == ["a"]
    # A line older than the spell's start, learnt late: the same spell.
    quiet.saw_line("a", at(1.5))
    assert quiet.newly_quiet(at(30)) == []
    # The run prints again: the spell is over; the next one is told once more.
    quiet.saw_line("a", at(30))
    assert quiet.newly_quiet(at(31)) == [] and quiet.labels(at(31)) == {}
    assert quiet.newly_quiet(at(41)) == ["a"] and quiet.newly_quiet(at(50)) == []
    # It stopped running: forgotten; a finished run is never quiet.
    quiet.track([run("a", "FAILED")])
    assert quiet.labels(at(60)) == {} and quiet.quiet_for("done", at(60)) is None


def test_a_line_heard_of_before_the_run_is_listed_is_kept() -> None:
    quiet = QuietRuns(after=600)
    quiet.saw_line("a", at(5))
    assert quiet.labels(at(30)) == {}  # not listed as running: never quiet
    quiet.track([run("a")])
    assert quiet.last_line("a") == at(5) and quiet.labels(at(16)) == {"a": "quiet 11m"}
    # The followed run is checked only while its last line is unknown.
    quiet.track([run("a"), run("b")])
    assert quiet.due(at(16), skip="b") == ["a", "b"]


def test_a_run_that_printed_nothing_is_quiet_since_it_started_and_zero_is_off() -> None:
    quiet = QuietRuns(after=600)
    quiet.track([run("a")])
    assert quiet.labels(at(12)) == {"a": "quiet 12m"}
    off = QuietRuns(after=0)
    off.track([run("a")])
    assert off.labels(at(120)) == {} and off.due(at(120)) == []


def test_light_checks_are_bounded() -> None:
    quiet = QuietRuns(after=600, check_interval=60)
    quiet.track([run(f"r{n}") for n in range(MAX_CHECKS + 5)])
    quiet.saw_line("r0", at(-20))  # followed by the caller, which knows its last line
    # Started at 0: none can be quiet before 10m, so none is asked before 9m.
    assert quiet.due(at(8.9), skip="r0") == []
    first = quiet.due(at(9), skip="r0")
    assert len(first) == MAX_CHECKS and "r0" not in first
    # The rest in the next rounds; the checked ones not again within the interval.
    second = quiet.due(at(9.1), skip="r0")
    assert len(second) == MAX_CHECKS and not set(first) & set(second)
    assert len(quiet.due(at(9.2), skip="r0")) == 0
    # A run whose last line is too recent to be quiet by the next round is not asked.
    quiet.saw_line("r1", at(9.5))
    assert "r1" not in quiet.due(at(11), skip="r0")
    assert "r1" in quiet.due(at(19), skip="r0")
