"""The UI-free follow layer shared by the TUI and the CLI.

`LogFollower` tails a run's log, `RunsPoller` keeps a runs list and reports what changed, and
`PollSchedule` decides when to poll next. Plain async code driven by `AsyncAPIClient`.
"""

from __future__ import annotations

from runwatch.follow.backoff import FATAL_ERRORS, is_fatal
from runwatch.follow.logs import LogFollower
from runwatch.follow.runs import RunChange, RunsDiff, RunsPoller, changed_fields
from runwatch.follow.schedule import Clock, PollSchedule, SystemClock

__all__ = [
    "FATAL_ERRORS",
    "Clock",
    "LogFollower",
    "PollSchedule",
    "RunChange",
    "RunsDiff",
    "RunsPoller",
    "SystemClock",
    "changed_fields",
    "is_fatal",
]
