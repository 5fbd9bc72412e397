"""A run's latest progress and metric values, read from the newest end of its log alone.

What the runs table shows for many runs at once (a progress column, a metric column) cannot
come from following every run's whole log. The newest page (`recentlogs`) holds the last
state of a progress bar and the last value of each metric printed recently; that is enough
for a table cell. A running run is then followed from there by a `LogFollower` (the log
pane's), so a later read brings only the lines added since: an empty answer when the log did
not grow, never the same page again.

When a run is read (`LatestReader.due`), per runs refresh:
  - a finished run: once after it finished (its final lines), then never again: its log no
    longer changes, so its values are kept for as long as the reader lives (one request);
  - a run still going: when asked for (it is on screen), at most once per `gap` seconds (the
    caller's choice: a few poll intervals), or once per `SILENT_GAPS` gaps after its reads
    have brought no line for `SILENT_AFTER` seconds (a run silent for hours has nothing new
    for a table cell; its first line after the silence is read within that longer gap): one
    request (two the first time: the newest page, then the follower's first step); its log
    may have grown at any time and only a read tells, so it counts as changed. When more
    than a page came since, the follower is dropped and the next read starts again from the
    newest page;
  - a run not started yet (queued): never, it has no log.
Finished runs are read only when a metric is asked for (progress is a running run's matter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runwatch.api.models import is_terminal
from runwatch.follow.log_source import LogSource
from runwatch.follow.logs import LogFollower
from runwatch.follow.metrics import MetricParser
from runwatch.follow.progress import Progress, parse_progress

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient
    from runwatch.api.models import LogEvent, Run

__all__ = ["Latest", "LatestReader", "latest_of"]

# The newest lines of a page that are read for values: a page may hold thousands.
TAIL = 200
# A running run whose reads brought no line for this long is read every SILENT_GAPS gaps.
SILENT_AFTER = 30.0
SILENT_GAPS = 4
# Statuses whose runs have no log yet.
NOT_STARTED = frozenset({"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"})


@dataclass(frozen=True)
class Latest:
    """What a run's newest lines show: its progress bar's last state and each metric's last
    value (None / absent when those lines show none)."""

    progress: Progress | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    finished: bool = False  # read after the run had finished: final


def latest_of(
    events: Sequence[LogEvent], *, finished: bool = False, metric_pattern: str | None = None
) -> Latest:
    """Read a page of events, oldest first (`metric_pattern`: the profile's custom format)."""
    parser = MetricParser.for_pattern(metric_pattern)
    metrics: dict[str, float] = {}
    for event in events:
        for point in parser.feed(event.message, event.raw_timestamp):
            metrics[point.name] = point.value
    progress = None
    for event in reversed(events):
        progress = parse_progress(event.message)
        if progress is not None:
            break
    return Latest(progress, metrics, finished)


class LatestReader:
    """Reads the newest page of the runs it is given, as `due` decides, and keeps the result."""

    def __init__(
        self,
        client: AsyncAPIClient,
        organization_id: str,
        deployment_id: str,
        *,
        gap: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        metric_pattern: str | None = None,
    ) -> None:
        self._client = client
        self.metric_pattern = metric_pattern
        self.organization_id = organization_id
        self.deployment_id = deployment_id
        self.gap = gap
        self.clock = clock
        self.known: dict[str, Latest] = {}
        self._read_at: dict[str, float] = {}
        # When a read of each running run last brought lines (or its first read).
        self._heard_at: dict[str, float] = {}
        self._followers: dict[str, LogFollower] = {}
        self.requests = 0

    @property
    def client(self) -> AsyncAPIClient:
        return self._client

    @client.setter
    def client(self, client: AsyncAPIClient) -> None:
        # The local engine came back on another port: the followers' positions still hold.
        self._client = client
        for follower in self._followers.values():
            follower.client = client

    def due(self, runs: Iterable[Run], *, metrics_wanted: bool) -> list[Run]:
        """The runs to read in this refresh (see the module's rules)."""
        wanted = []
        now = self.clock()
        for run in runs:
            if run.status in NOT_STARTED:
                continue
            known = self.known.get(run.run_id)
            if run.terminal:
                if metrics_wanted and (known is None or not known.finished):
                    wanted.append(run)
            elif now - self._read_at.get(run.run_id, -math.inf) >= self._gap(run.run_id, now):
                wanted.append(run)
        return wanted

    def _gap(self, run_id: str, now: float) -> float:
        heard = self._heard_at.get(run_id)
        silent = heard is not None and now - heard >= SILENT_AFTER
        return self.gap * SILENT_GAPS if silent else self.gap

    async def read(self, run: Run) -> Latest:
        run_id = run.run_id
        finished = is_terminal(run.status)
        self._read_at[run_id] = now = self.clock()
        follower = self._followers.pop(run_id, None)
        previous = self.known.get(run_id) if follower is not None else None
        if follower is None and finished:
            # Once, and final: the newest page is all a table cell needs.
            source = LogSource(self.client, self.organization_id, self.deployment_id, run_id)
            self.requests += 1
            events = (await source.recent()).events
        else:
            if follower is None:
                follower = LogFollower(
                    self.client,
                    self.organization_id,
                    self.deployment_id,
                    run_id,
                    max_pages_per_poll=1,
                )
            sent = follower.traffic.requests
            try:
                events = await follower.poll()
            finally:
                self.requests += follower.traffic.requests - sent
            if follower.caught_up and not finished:
                self._followers[run_id] = follower
        if events or run_id not in self._heard_at:
            self._heard_at[run_id] = now
        fresh = latest_of(events[-TAIL:], finished=finished, metric_pattern=self.metric_pattern)
        latest = fresh
        if previous is not None:
            # Only the lines since the last read: what they do not show is still as it was.
            metrics = {**previous.metrics, **fresh.metrics}
            latest = Latest(fresh.progress or previous.progress, metrics, finished)
        self.known[run_id] = latest
        return latest
