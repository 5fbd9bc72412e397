"""Reading a run's log as it is now, once: `runwatch logs`, the dashboard's export, metrics.

One rule for every whole-log read: time slices read in parallel (`log_slices.SliceReader`),
then a `LogFollower` placed just after the last event they handed out, polled until it has
caught up: it asks `recentlogs` whether anything came after (a log still growing, a server
whose `logs` ended early), or, when the server did not read the slices' times as asked,
pages `logs` on sequentially from there. Either way each event comes once, in order, whatever
token shapes the server uses. `tail` (the newest N) and a caller's own `follower` are read
by the follower alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from runwatch.api.models import LogEvent
from runwatch.follow.log_slices import WORKERS, SliceReader
from runwatch.follow.log_source import events_oldest_first
from runwatch.follow.logs import LogFollower

if TYPE_CHECKING:
    from runwatch.api.client import AsyncAPIClient

__all__ = ["messages", "read_log", "read_log_wire"]


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
    workers: int = WORKERS,
) -> AsyncIterator[list[LogEvent]]:
    """Batches of events, oldest first: the whole log, or from `since`, or the newest `tail`,
    up to (not including) `until`. Ends once the end of the log as it is now is reached.

    `follower` lets the caller see its progress and cost (`delivered`, `traffic`); it must be
    a fresh one made with the same start position, and the log is then read by it alone,
    one page after another. `workers`: slices read at once (1: one after another).
    """
    if follower is not None or tail is not None:
        if follower is None:
            follower = _follower(client, organization_id, deployment_id, run_id, since, tail)
        async for batch in _drain(follower, until):
            yield batch
        return
    async for wire in read_log_wire(
        client, organization_id, deployment_id, run_id, since=since, until=until, workers=workers
    ):
        yield events_oldest_first(wire, newest_first=False)


async def read_log_wire(
    client: AsyncAPIClient,
    organization_id: str,
    deployment_id: str,
    run_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    workers: int = WORKERS,
) -> AsyncIterator[list[Any]]:
    """`read_log` without `tail`, in batches of wire events (`{"message", "timestamp"}` as
    the server sent them): for a caller that needs no parsed times (`messages`)."""
    follower = _follower(client, organization_id, deployment_id, run_id, since, None)
    async for batch in read_history(follower, until=until, workers=workers):
        yield batch
    async for events in _drain(follower, until):
        yield [{"message": e.message, "timestamp": e.raw_timestamp} for e in events]


async def read_history(
    follower: LogFollower, *, until: datetime | None = None, workers: int = WORKERS
) -> AsyncIterator[list[Any]]:
    """The log from `follower`'s start position (its start or `since`), by time slices, in
    batches of wire events; however it ends (the end, an error, the caller stopping), it
    leaves the fresh `follower` just after the last event handed out, to go on from there
    (`read_log_wire` polls it until caught up; `logs -f` follows with it)."""
    reader = SliceReader(
        follower.client,
        follower.organization_id,
        follower.deployment_id,
        follower.run_id,
        since=follower.since,
        until=until,
        workers=workers,
        traffic=follower.traffic,
    )
    complete = False
    try:
        async for batch in reader.read():
            yield batch
        complete = not reader.fell_back
    finally:
        # Cut short: `logs` is read on from the last event handed out, one page at a time.
        follower.resume_after(reader.newest, read_logs=not complete, since=follower.since)


def messages(wire: list[Any]) -> list[str]:
    """The messages of wire events, as `LogEvent.from_wire` reads them."""
    out: list[str] = []
    append = out.append
    for item in wire:
        if type(item) is dict and type(message := item.get("message")) is str:
            append(message)
        else:
            append(LogEvent.from_wire(item).message)
    return out


def _follower(
    client: AsyncAPIClient,
    organization_id: str,
    deployment_id: str,
    run_id: str,
    since: datetime | None,
    tail: int | None,
) -> LogFollower:
    return LogFollower(
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


async def _drain(follower: LogFollower, until: datetime | None) -> AsyncIterator[list[LogEvent]]:
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
