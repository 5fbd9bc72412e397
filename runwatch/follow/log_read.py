"""Reading a run's log as it is now, once: `runwatch logs`, the dashboard's export, metrics.

One rule for every whole-log read: it is a `LogFollower` polled until it has caught up, so
it pages the same way, survives the same token shapes and delivers each event once, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

from runwatch.api.models import LogEvent
from runwatch.follow.logs import LogFollower

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["read_log"]


async def read_log(
    client: AsyncAPIClient,
    organization_id: str,
    deployment_id: str,
    run_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tail: int | None = None,
    follower: LogFollower | None = None,
) -> AsyncIterator[list[LogEvent]]:
    """Batches of events, oldest first: the whole log, or from `since`, or the newest `tail`,
    up to (not including) `until`. Ends once the end of the log as it is now is reached.

    `follower` lets the caller see its progress and cost (`delivered`, `traffic`); it must be
    a fresh one made with the same start position.
    """
    if follower is None:
        follower = LogFollower(
            client,
            organization_id,
            deployment_id,
            run_id,
            from_start=since is None and tail is None,
            since=since,
            tail=tail,
            # A batch a request: an export shows its progress, and stops at once when asked.
            max_pages_per_poll=1,
        )
    while True:
        batch = await follower.poll()
        if until is not None:
            kept = [e for e in batch if e.timestamp is None or e.timestamp < until]
            if len(kept) < len(batch):
                if kept:
                    yield kept
                return
        if batch:
            yield batch
        if follower.caught_up:
            return
