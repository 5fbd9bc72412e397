"""Quiet runs: a RUNNING run that has printed nothing for a while ("quiet 12m"), and one
notification per quiet spell.

A hung data loader or a deadlocked collective looks exactly like a long epoch from the
status alone; a log that stopped moving is the tell. The time of a run's last line comes from
whoever knows it: the dashboard's log follower for the run it shows, and for the others a
light check, the newest log page's last timestamp (`newest_line_time`), asked at most once
per `check_interval` per running run. A run that has printed nothing at all is quiet since it
started running.

UI-free: times in, labels and decisions out; the caller's clock (`now`) makes it testable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from runwatch.api.models import RunStatus

if TYPE_CHECKING:
    from runwatch.api.models import Run
    from runwatch.follow.log_source import LogSource

__all__ = ["QuietRuns", "newest_line_time", "quiet_label"]
# The light check of a run not shown: at most once a minute each.
CHECK_INTERVAL = 60.0
# Runs checked at most in one round (a round a second at most: a deployment with hundreds
# running spreads its checks, and never floods the server as the dashboard opens).
MAX_CHECKS = 4


def quiet_label(seconds: float) -> str:
    """`quiet 12m`, `quiet 2h05m`: minutes are what a hang is measured in."""
    minutes = max(0, int(seconds)) // 60
    if minutes < 60:
        return f"quiet {minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"quiet {hours}h{minutes:02d}m"


async def newest_line_time(source: LogSource) -> datetime | None:
    """The time of the newest line of a run's log: one request (the newest page)."""
    page = await source.recent()
    for event in reversed(page.events):
        if event.timestamp is not None:
            return event.timestamp
    return None


def _seconds(since: datetime | None, now: datetime) -> float:
    return float("inf") if since is None else (now - since).total_seconds()


@dataclass
class _Watched:
    running_since: datetime | None = None
    # Listed as RUNNING by the last `track` (a run heard of only through its lines is not).
    listed: bool = False
    last_line: datetime | None = None
    checked: datetime | None = None  # when the last light check was made
    notified: bool = False  # this quiet spell has had its notification


@dataclass
class QuietRuns:
    """The running runs and when each last printed; which are quiet, which to check."""

    after: float  # seconds (the setting `quiet_after`); 0 turns it off
    check_interval: float = CHECK_INTERVAL
    _runs: dict[str, _Watched] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.after > 0

    def track(self, runs: Iterable[Run]) -> None:
        """The runs as the runs list has them now: the running ones are watched, a run that
        stopped running is forgotten (a later RUNNING spell starts afresh)."""
        running: dict[str, Run] = {r.run_id: r for r in runs if r.status == RunStatus.RUNNING}
        for run_id in [run_id for run_id in self._runs if run_id not in running]:
            del self._runs[run_id]
        for run_id, run in running.items():
            watched = self._runs.setdefault(run_id, _Watched())
            if not watched.listed:
                watched.listed = True
                # modified_at is the time of the run's last change: when it started running.
                watched.running_since = run.modified_at or run.created_at

    def saw_line(self, run_id: str, when: datetime | None) -> None:
        """The run printed a line at `when` (its log's own time). Kept even for a run not
        listed yet: the log pane may take in a run's lines before the runs list is read."""
        if when is None:
            return
        watched = self._runs.setdefault(run_id, _Watched())
        if watched.last_line is None or when > watched.last_line:
            watched.last_line = when

    def last_line(self, run_id: str) -> datetime | None:
        """The time of the run's newest line known, if any."""
        watched = self._runs.get(run_id)
        return watched.last_line if watched is not None else None

    def quiet_for(self, run_id: str, now: datetime) -> float | None:
        """Seconds the run has printed nothing, when that is at least `after`; else None."""
        watched = self._runs.get(run_id)
        if watched is None or not watched.listed or not self.enabled:
            return None
        since = watched.last_line or watched.running_since
        if since is None:
            return None
        seconds = (now - since).total_seconds()
        return seconds if seconds >= self.after else None

    def labels(self, now: datetime) -> dict[str, str]:
        """ "quiet 12m" for each quiet run."""
        found = {run_id: self.quiet_for(run_id, now) for run_id in self._runs}
        return {run_id: quiet_label(s) for run_id, s in found.items() if s is not None}

    def newly_quiet(self, now: datetime) -> list[str]:
        """The runs that went quiet since last asked: each once per quiet spell.

        A spell ends when the run is seen not quiet, not at any line learnt of: a check that
        finds a line older than the spell's start (a run quiet since it started, whose one
        line the check reads later) is the same spell, and says nothing new.
        """
        fresh = []
        for run_id, watched in self._runs.items():
            quiet = self.quiet_for(run_id, now) is not None
            if quiet and not watched.notified:
                fresh.append(run_id)
            watched.notified = quiet
        return fresh

    def due(self, now: datetime, *, skip: str | None = None) -> list[str]:
        """The running runs whose light check is due, at most `MAX_CHECKS`, marked checked.

        Not `skip` (the run the caller follows itself) once its last line is known, not
        within `check_interval` of the last check, and not a run whose last known line (or
        start) is too recent for it to be quiet before the next round: a chatty run costs a
        request every `after` seconds or so, a young one none.
        """
        if not self.enabled:
            return []
        chosen = []
        for run_id, watched in self._runs.items():
            if not watched.listed or (run_id == skip and watched.last_line is not None):
                continue
            if _seconds(watched.checked, now) < self.check_interval:
                continue
            # Its last line, or its start: a run that cannot be quiet by the next round is not
            # asked (a young run, or one that printed a moment ago, costs nothing).
            since = watched.last_line or watched.running_since
            if _seconds(since, now) < self.after - self.check_interval:
                continue
            watched.checked = now
            chosen.append(run_id)
            if len(chosen) >= MAX_CHECKS:
                break
        return chosen
